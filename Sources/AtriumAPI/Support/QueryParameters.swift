import AtriumHTTP

/// The query string's parameters, percent-decoded (`+` is a space), in order, repeats kept.
public struct QueryParameters: Sendable {
    public let pairs: [(name: String, value: String)]
    /// A parameter whose name or value was not valid percent-encoded UTF-8.
    public let malformedName: String?

    public init(_ query: String?) {
        guard let query, !query.isEmpty else {
            pairs = []
            malformedName = nil
            return
        }
        var pairs: [(name: String, value: String)] = []
        var malformed: String?
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let rawName = pieces[0].replacingPlus
            let rawValue = pieces.count > 1 ? pieces[1].replacingPlus : ""
            guard let name = PercentDecoding.decode(rawName[...]) else {
                if malformed == nil { malformed = "query" }
                continue
            }
            guard let value = PercentDecoding.decode(rawValue[...]) else {
                if malformed == nil { malformed = name }
                continue
            }
            pairs.append((name, value))
        }
        self.pairs = pairs
        self.malformedName = malformed
    }

    public func values(_ name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value)
    }

    public func first(_ name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// `limit` per api.md §1: 1–100, default 20, else 400 INVALID_PARAMETER.
    public func limit(default fallback: Int = 20) throws(APIError) -> Int {
        let given = values("limit")
        guard !given.isEmpty else { return fallback }
        guard given.count == 1, let value = Int(given[0]), (1...100).contains(value),
              given[0].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw APIError.invalidParameter("limit")
        }
        return value
    }
}

extension Substring {
    fileprivate var replacingPlus: String {
        contains("+") ? String(map { $0 == "+" ? " " : $0 }) : String(self)
    }
}
