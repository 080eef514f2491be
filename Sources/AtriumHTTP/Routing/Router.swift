/// The outcome of looking a request up in the router.
public enum RouteMatch: Sendable {
    case matched(Route, parameters: [(name: String, value: String)])
    /// No template matches the path.
    case notFound
    /// A template matches but not for this method; `allowed` lists the methods that do.
    case methodNotAllowed(allowed: [String])
}

/// Maps a method and a path to a route. Built once by `RouterBuilder`, then immutable.
///
/// Literal segments win over parameters at the same depth; `HEAD` falls back to `GET`.
public struct Router: Sendable {
    private let root: Node
    /// Every route in registration order.
    public let routes: [Route]

    fileprivate init(root: Node, routes: [Route]) {
        self.root = root
        self.routes = routes
    }

    /// Looks up `path` (the raw, percent-encoded path without its query).
    public func match(method: HTTPMethod, path: String) -> RouteMatch {
        guard path.utf8.first == UInt8(ascii: "/") else { return .notFound }
        var segments: [Substring] = []
        segments.reserveCapacity(6)
        var rest = path.dropFirst()
        while true {
            if let slash = rest.firstIndex(of: "/") {
                segments.append(rest[rest.startIndex..<slash])
                rest = rest[rest.index(after: slash)...]
            } else {
                segments.append(rest)
                break
            }
        }
        if segments.count == 1 && segments[0].isEmpty { segments = [] }
        for segment in segments where segment.isEmpty { return .notFound }
        var captured: [String] = []
        guard let node = Router.find(root, segments[...], &captured) else { return .notFound }
        if let route = node.routes[method] ?? (method == .head ? node.routes[.get] : nil) {
            var parameters: [(name: String, value: String)] = []
            parameters.reserveCapacity(captured.count)
            for (name, value) in zip(node.parameterNames(route: route), captured) {
                parameters.append((name, value))
            }
            return .matched(route, parameters: parameters)
        }
        var allowed = node.routes.keys.map(\.rawValue)
        if node.routes[.get] != nil { allowed.append("HEAD") }
        return .methodNotAllowed(allowed: allowed.sorted())
    }

    private static func find(_ node: Node, _ segments: ArraySlice<Substring>, _ captured: inout [String]) -> Node? {
        guard let first = segments.first else { return node.routes.isEmpty ? nil : node }
        let rest = segments.dropFirst()
        if let child = node.literals[String(first)], let found = find(child, rest, &captured) {
            return found
        }
        if let child = node.parameter, let decoded = PercentDecoding.decode(first) {
            captured.append(decoded)
            if let found = find(child, rest, &captured) { return found }
            captured.removeLast()
        }
        return nil
    }

    fileprivate final class Node: @unchecked Sendable {
        // @unchecked Sendable: nodes are mutated only by RouterBuilder before `build()`
        // hands the tree to a Router; afterwards nothing writes to them.
        var literals: [String: Node] = [:]
        var parameter: Node?
        var routes: [HTTPMethod: Route] = [:]
        var templates: [HTTPMethod: [String]] = [:]

        func parameterNames(route: Route) -> [String] {
            templates[route.method] ?? []
        }
    }
}

/// Collects routes, then builds the immutable `Router`.
public struct RouterBuilder {
    private var routes: [Route] = []

    public init() {}

    /// Adds a route. Registering the same method and template twice is a programming error.
    public mutating func add(_ route: Route) {
        var route = route
        route.index = routes.count
        routes.append(route)
    }

    public func build() -> Router {
        let root = Router.Node()
        for route in routes {
            var node = root
            var names: [String] = []
            let segments = route.template.split(separator: "/", omittingEmptySubsequences: true)
            for segment in segments {
                if segment.hasPrefix("{") && segment.hasSuffix("}") {
                    names.append(String(segment.dropFirst().dropLast()))
                    let next = node.parameter ?? Router.Node()
                    node.parameter = next
                    node = next
                } else {
                    let key = String(segment)
                    if let next = node.literals[key] {
                        node = next
                    } else {
                        let next = Router.Node()
                        node.literals[key] = next
                        node = next
                    }
                }
            }
            precondition(node.routes[route.method] == nil, "duplicate route \(route.method) \(route.template)")
            node.routes[route.method] = route
            node.templates[route.method] = names
        }
        return Router(root: root, routes: routes)
    }
}

/// Decodes `%HH` escapes in a path segment; nil when an escape is malformed or the result
/// is not UTF-8.
public enum PercentDecoding {
    public static func decode(_ segment: Substring) -> String? {
        if !segment.utf8.contains(UInt8(ascii: "%")) { return String(segment) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(segment.utf8.count)
        var iterator = segment.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
