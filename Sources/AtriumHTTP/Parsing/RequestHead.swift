/// The request line of the request being parsed, plus what the header block decided about it.
///
/// Kept apart from the parser's byte state so the request line is converted to `String`s once,
/// when it completes, and then carried until the body is in.
struct RequestHead: Sendable {
    var method: HTTPMethod
    var version: HTTPVersion
    var target: String
    var path: String
    var query: String?
    var keepAlive: Bool

    /// Never handed out: stands in where the type system cannot see that a head exists.
    static let placeholder = RequestHead(
        method: .get, version: .http11, target: "/", path: "/", query: nil, keepAlive: false
    )

    /// Parses `method SP request-target SP HTTP-version` (CRLF already removed). Rules are
    /// checked in a fixed order: control characters, structure, method, version, CONNECT, target.
    static func parse(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> RequestHead {
        for b in line where HTTPBytes.isControl(b) {
            throw HTTPParseError(.controlCharacterInRequestLine)
        }
        guard let firstSpace = line.firstIndex(of: HTTPBytes.space),
              let lastSpace = line.lastIndex(of: HTTPBytes.space),
              lastSpace > firstSpace + 1 else {
            throw HTTPParseError(.invalidRequestLine)
        }
        let targetRange = (firstSpace + 1)..<lastSpace
        // Exactly one SP on each side of the target: anything else is a broken line, while a
        // space inside the target is a broken target.
        if line[targetRange.lowerBound] == HTTPBytes.space || line[targetRange.upperBound - 1] == HTTPBytes.space {
            throw HTTPParseError(.invalidRequestLine)
        }
        let methodBytes = UnsafeBufferPointer(rebasing: line[0..<firstSpace])
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(HTTPBytes.isTokenByte) else {
            throw HTTPParseError(.invalidMethod)
        }
        let version = try parseVersion(UnsafeBufferPointer(rebasing: line[(lastSpace + 1)...]))
        let method = knownMethod(methodBytes)
            ?? HTTPMethod(validatedToken: String(decoding: methodBytes, as: UTF8.self))
        if method == .connect {
            throw HTTPParseError(.connectNotImplemented)
        }
        let targetBytes = UnsafeBufferPointer(rebasing: line[targetRange])
        let target = String(decoding: targetBytes, as: UTF8.self)
        if targetBytes.count == 1, targetBytes[0] == 0x2A { // "*"
            guard method == .options else { throw HTTPParseError(.asteriskFormWithoutOptions) }
            return RequestHead(method: method, version: version, target: target, path: "*", query: nil,
                               keepAlive: false)
        }
        let parts = try RequestTarget.parse(targetBytes)
        let path: String
        if let pathRange = parts.path {
            path = pathRange.count == targetBytes.count
                ? target
                : String(decoding: UnsafeBufferPointer(rebasing: targetBytes[pathRange]), as: UTF8.self)
        } else {
            path = "/"
        }
        let query = parts.query.map {
            String(decoding: UnsafeBufferPointer(rebasing: targetBytes[$0]), as: UTF8.self)
        }
        return RequestHead(method: method, version: version, target: target, path: path, query: query, keepAlive: false)
    }

    /// `HTTP/1.1` or `HTTP/1.0`; another well-formed `HTTP/DIGIT.DIGIT` is 505, anything else 400.
    private static func parseVersion(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> HTTPVersion {
        guard bytes.count == 8,
              bytes[0] == 0x48, bytes[1] == 0x54, bytes[2] == 0x54, bytes[3] == 0x50, bytes[4] == HTTPBytes.slash,
              HTTPBytes.isDigit(bytes[5]), bytes[6] == 0x2E, HTTPBytes.isDigit(bytes[7]) else {
            throw HTTPParseError(.malformedVersion)
        }
        switch (bytes[5], bytes[7]) {
        case (0x31, 0x31): return .http11
        case (0x31, 0x30): return .http10
        default: throw HTTPParseError(.unsupportedVersion)
        }
    }

    /// The shared constant for common methods, so they cost no `String` work.
    private static func knownMethod(_ bytes: UnsafeBufferPointer<UInt8>) -> HTTPMethod? {
        switch bytes.count {
        case 3:
            if bytes[0] == 0x47, bytes[1] == 0x45, bytes[2] == 0x54 { return .get }
            if bytes[0] == 0x50, bytes[1] == 0x55, bytes[2] == 0x54 { return .put }
        case 4:
            if bytes[0] == 0x50, bytes[1] == 0x4F, bytes[2] == 0x53, bytes[3] == 0x54 { return .post }
            if bytes[0] == 0x48, bytes[1] == 0x45, bytes[2] == 0x41, bytes[3] == 0x44 { return .head }
        default:
            break
        }
        return nil
    }
}
