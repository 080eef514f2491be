import AtriumHTTP
import AtriumJSON

/// The JSON object a request sent, checked the way api.md §1 says: `application/json`
/// (415 otherwise), a JSON object without duplicate keys (400 INVALID_JSON otherwise).
/// Field readers collect every problem, so one 400 names them all.
public struct RequestBody {
    public let object: JSONObject
    private(set) var problems: [(field: String, message: String)] = []

    /// Parses the body of `request`; an empty body is treated as not a JSON object.
    public init(_ request: HTTPRequest) throws(APIError) {
        try RequestBody.checkContentType(request)
        guard !request.body.isEmpty else { throw APIError.invalidJSON }
        let value: JSONValue
        do {
            value = try JSONParser.parse(request.body, maxDepth: 64, rejectDuplicateKeys: true)
        } catch {
            throw APIError.invalidJSON
        }
        guard case .object(let object) = value else { throw APIError.invalidJSON }
        self.object = object
    }

    /// 415 unless a request that carries a body says it is JSON.
    public static func checkContentType(_ request: HTTPRequest) throws(APIError) {
        guard !request.body.isEmpty else { return }
        guard let type = request.headers.first("content-type") else { throw APIError.unsupportedMediaType }
        let mediaType = type.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces.lowercased() } ?? ""
        guard mediaType == "application/json" else { throw APIError.unsupportedMediaType }
    }

    public func has(_ field: String) -> Bool { object[field] != nil }

    /// A string field. `nil` when absent (and not required) or invalid (recorded).
    public mutating func string(_ field: String, required: Bool, minLength: Int = 0, maxLength: Int = 10_000,
                                trim: Bool = false) -> String? {
        guard let value = object[field] else {
            if required { problems.append((field, "is required")) }
            return nil
        }
        guard case .string(var text) = value else {
            problems.append((field, "must be a string"))
            return nil
        }
        if trim { text = text.trimmingSpaces }
        guard !Self.holdsNUL(text) else {
            problems.append((field, Self.nulMessage))
            return nil
        }
        let length = text.count
        if length < minLength || length > maxLength {
            problems.append((field, minLength == maxLength
                ? "must be \(minLength) characters" : "must be \(minLength) to \(maxLength) characters"))
            return nil
        }
        return text
    }

    /// A field that may be a string or null: `.some(nil)` for an explicit null.
    public mutating func nullableString(_ field: String, maxLength: Int = 10_000) -> String?? {
        guard let value = object[field] else { return .none }
        if case .null = value { return .some(nil) }
        guard case .string(let text) = value, text.count <= maxLength else {
            problems.append((field, "must be a string of at most \(maxLength) characters, or null"))
            return .none
        }
        guard !Self.holdsNUL(text) else {
            problems.append((field, Self.nulMessage))
            return .none
        }
        return .some(text)
    }

    /// Text fields never hold U+0000: PostgreSQL's text cannot store it, and the contract
    /// holds the same on both engines (docs/decisions.md), so it is refused before any store.
    static func holdsNUL(_ text: String) -> Bool { text.utf8.contains(0) }
    static let nulMessage = "must not contain the NUL character (U+0000)"

    /// A positive 64-bit integer field.
    public mutating func positiveInteger(_ field: String, required: Bool) -> Int64? {
        guard let value = object[field] else {
            if required { problems.append((field, "is required")) }
            return nil
        }
        guard case .number(let number) = value, let integer = number.int64, integer > 0 else {
            problems.append((field, "must be a positive integer"))
            return nil
        }
        return integer
    }

    /// An array of strings.
    public mutating func stringArray(_ field: String, required: Bool, maxCount: Int = 100) -> [String]? {
        guard let value = object[field] else {
            if required { problems.append((field, "is required")) }
            return nil
        }
        guard case .array(let items) = value, items.count <= maxCount else {
            problems.append((field, "must be an array of at most \(maxCount) strings"))
            return nil
        }
        var result: [String] = []
        for item in items {
            guard case .string(let text) = item else {
                problems.append((field, "must contain only strings"))
                return nil
            }
            guard !Self.holdsNUL(text) else {
                problems.append((field, Self.nulMessage))
                return nil
            }
            result.append(text)
        }
        return result
    }

    /// An array of positive integer ids.
    public mutating func idArray(_ field: String, required: Bool, maxCount: Int = 1000) -> [Int64]? {
        guard let value = object[field] else {
            if required { problems.append((field, "is required")) }
            return nil
        }
        guard case .array(let items) = value, items.count <= maxCount else {
            problems.append((field, "must be an array of at most \(maxCount) ids"))
            return nil
        }
        var result: [Int64] = []
        for item in items {
            guard case .number(let number) = item, let id = number.int64, id > 0 else {
                problems.append((field, "must contain only positive integer ids"))
                return nil
            }
            result.append(id)
        }
        return result
    }

    /// An RFC 3339 timestamp or null; `.some(nil)` for null.
    public mutating func timestamp(_ field: String) -> Int64?? {
        guard let value = object[field] else { return .none }
        if case .null = value { return .some(nil) }
        guard case .string(let text) = value, let millis = Timestamp.parse(text) else {
            problems.append((field, "must be an RFC 3339 timestamp or null"))
            return .none
        }
        return .some(millis)
    }

    /// A JSON object field, serialized, at most `maxBytes`.
    public mutating func objectText(_ field: String, maxBytes: Int) -> String? {
        guard let value = object[field] else { return nil }
        guard case .object = value else {
            problems.append((field, "must be a JSON object"))
            return nil
        }
        let text = value.serializedString
        guard text.utf8.count <= maxBytes else {
            problems.append((field, "must be at most \(maxBytes) bytes"))
            return nil
        }
        return text
    }

    public mutating func addProblem(_ field: String, _ message: String) {
        problems.append((field, message))
    }

    /// Throws 400 VALIDATION_FAILED naming every problem found so far.
    public func validate() throws(APIError) {
        if !problems.isEmpty { throw APIError.validation(problems) }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and newlines.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
