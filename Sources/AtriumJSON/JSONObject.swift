/// A JSON object that keeps its members in insertion order.
///
/// Order matters to people reading API responses and to byte-stable round trips, which a
/// `Dictionary` would lose. Small objects (the common case) are searched linearly; larger ones
/// get a key index so that parsing a hostile object with many members stays linear.
///
/// Equality ignores member order: two objects are equal when they have the same keys with
/// equal values, which is what JSON means by equal objects.
public struct JSONObject: Sendable, Equatable, Sequence {
    public typealias Element = (key: String, value: JSONValue)

    private var members: [Element]
    /// Key to position in `members`; empty while `members.count <= JSONObject.indexThreshold`.
    private var index: [String: Int]

    private static let indexThreshold = 12

    public init() {
        members = []
        index = [:]
    }

    /// Creates an object from pairs in order. A repeated key keeps its first position and its
    /// last value (use `JSONParser` with `rejectDuplicateKeys` to refuse duplicates instead).
    public init(_ pairs: [(String, JSONValue)]) {
        self.init()
        members.reserveCapacity(pairs.count)
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    /// The member named `key`; setting `nil` removes it, setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let position = position(of: key) else { return nil }
            return members[position].value
        }
        set {
            if let position = position(of: key) {
                if let newValue {
                    members[position].value = newValue
                } else {
                    members.remove(at: position)
                    rebuildIndex()
                }
            } else if let newValue {
                append(key, newValue)
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[Element]> {
        members.makeIterator()
    }

    /// Appends a member whose key is not present yet; returns `false` (and changes nothing)
    /// when the key already exists. The parser uses this to detect duplicates in one lookup.
    @discardableResult
    public mutating func insertNew(_ key: String, _ value: JSONValue) -> Bool {
        guard position(of: key) == nil else { return false }
        append(key, value)
        return true
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for (key, value) in lhs.members {
            guard let other = rhs[key], other == value else { return false }
        }
        return true
    }

    private func position(of key: String) -> Int? {
        if index.isEmpty {
            return members.firstIndex { $0.key == key }
        }
        return index[key]
    }

    private mutating func append(_ key: String, _ value: JSONValue) {
        members.append((key: key, value: value))
        if !index.isEmpty {
            index[key] = members.count - 1
        } else if members.count > JSONObject.indexThreshold {
            rebuildIndex()
        }
    }

    private mutating func rebuildIndex() {
        guard members.count > JSONObject.indexThreshold else {
            index = [:]
            return
        }
        var rebuilt = [String: Int](minimumCapacity: members.count)
        for (position, member) in members.enumerated() { rebuilt[member.key] = position }
        index = rebuilt
    }
}
