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
            // A name or value that is not valid percent-encoded UTF-8 is kept, decoded lossily
            // (so a workspace selector fails its syntax rule), and remembered: the request is
            // refused rather than served as if the parameter were absent.
            let decodedName = PercentDecoding.decode(rawName[...])
            let decodedValue = PercentDecoding.decode(rawValue[...])
            let name = decodedName ?? Self.lossy(rawName)
            let value = decodedValue ?? Self.lossy(rawValue)
            if malformed == nil && (decodedName == nil || decodedValue == nil) { malformed = name }
            pairs.append((name, value))
        }
        self.pairs = pairs
        self.malformedName = malformed
    }

    /// `%HH` decoded byte by byte, invalid UTF-8 replaced by U+FFFD.
    private static func lossy(_ raw: String) -> String {
        var bytes: [UInt8] = []
        var iterator = raw.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
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
