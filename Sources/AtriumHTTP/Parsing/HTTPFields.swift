/// Ordered header fields with case-insensitive names.
///
/// An ordered list rather than a dictionary because repeated fields carry meaning (two
/// `Content-Length` or `Host` fields are an attack the parser must see) and must survive for
/// handlers. Names and values live as raw bytes in one array; `String`s are made only when a
/// caller asks, so parsing a request allocates two arrays for all of its fields.
public struct HTTPFields: Sendable, Sequence, Equatable {
    public typealias Element = (name: String, value: String)

    /// One field: its name is `bytes[nameStart..<valueStart]`, its value `bytes[valueStart..<valueEnd]`.
    struct Entry: Sendable, Equatable {
        var nameStart: Int
        var valueStart: Int
        var valueEnd: Int
    }

    private(set) var bytes: [UInt8] = []
    private(set) var entries: [Entry] = []

    /// No fields.
    public init() {}

    /// Fields in the given order; values are OWS-trimmed like parsed ones.
    public init(_ pairs: [(String, String)]) {
        for (name, value) in pairs {
            append(name: name, value: value)
        }
    }

    /// Adds a field at the end (the value is OWS-trimmed). Names are not validated here: use it
    /// for fields you build yourself, not to smuggle unchecked input into a response.
    public mutating func append(name: String, value: String) {
        let nameStart = bytes.count
        bytes.append(contentsOf: name.utf8)
        let valueStart = bytes.count
        var trimmed = Substring(value).utf8[...]
        while let first = trimmed.first, HTTPBytes.isWhitespace(first) { trimmed = trimmed.dropFirst() }
        while let last = trimmed.last, HTTPBytes.isWhitespace(last) { trimmed = trimmed.dropLast() }
        bytes.append(contentsOf: trimmed)
        entries.append(Entry(nameStart: nameStart, valueStart: valueStart, valueEnd: bytes.count))
    }

    /// Adds a parsed field from raw, already validated bytes.
    mutating func append(from source: [UInt8], name: Range<Int>, value: Range<Int>, expectedBytes: Int) {
        if entries.isEmpty {
            // One allocation each for a typical head instead of a chain of regrowths.
            bytes.reserveCapacity(Swift.max(expectedBytes, value.upperBound - name.lowerBound))
            entries.reserveCapacity(16)
        }
        let nameStart = bytes.count
        bytes.append(contentsOf: source[name])
        let valueStart = bytes.count
        bytes.append(contentsOf: source[value])
        entries.append(Entry(nameStart: nameStart, valueStart: valueStart, valueEnd: bytes.count))
    }

    /// Number of fields, repeated ones counted each time.
    public var count: Int { entries.count }

    /// True when there is no field.
    public var isEmpty: Bool { entries.isEmpty }

    /// The first value of `name` (names compare case-insensitively), nil if absent.
    public func first(_ name: String) -> String? {
        guard let index = firstIndex(name) else { return nil }
        return value(at: index)
    }

    /// The raw bytes of the first value of `name`, nil if absent (no `String` made).
    public func firstValueBytes(_ name: String) -> ArraySlice<UInt8>? {
        guard let index = firstIndex(name) else { return nil }
        let entry = entries[index]
        return bytes[entry.valueStart..<entry.valueEnd]
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        var result: [String] = []
        forEachIndex(named: name) { result.append(value(at: $0)) }
        return result
    }

    /// How many fields have that name.
    public func count(of name: String) -> Int {
        var total = 0
        forEachIndex(named: name) { _ in total += 1 }
        return total
    }

    /// Whether at least one field has that name.
    public func contains(_ name: String) -> Bool {
        firstIndex(name) != nil
    }

    public func makeIterator() -> Iterator {
        Iterator(fields: self)
    }

    /// Walks the fields in order, making `String`s for each.
    public struct Iterator: IteratorProtocol {
        let fields: HTTPFields
        var index = 0

        public mutating func next() -> Element? {
            guard index < fields.entries.count else { return nil }
            defer { index += 1 }
            return (fields.name(at: index), fields.value(at: index))
        }
    }

    // MARK: Byte-level access for the parser

    func name(at index: Int) -> String {
        let entry = entries[index]
        return String(decoding: bytes[entry.nameStart..<entry.valueStart], as: UTF8.self)
    }

    func value(at index: Int) -> String {
        let entry = entries[index]
        return String(decoding: bytes[entry.valueStart..<entry.valueEnd], as: UTF8.self)
    }

    /// Calls `body` with the name and value bytes of field `index`.
    func withField<R>(
        at index: Int,
        _ body: (_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> R
    ) -> R {
        let entry = entries[index]
        return bytes.withUnsafeBufferPointer { buffer in
            body(
                UnsafeBufferPointer(rebasing: buffer[entry.nameStart..<entry.valueStart]),
                UnsafeBufferPointer(rebasing: buffer[entry.valueStart..<entry.valueEnd])
            )
        }
    }

    private func firstIndex(_ name: String) -> Int? {
        var found: Int?
        forEachIndex(named: name, stopAtFirst: true) { found = $0 }
        return found
    }

    /// Calls `body` with the index of every field named `name`, comparing on bytes.
    private func forEachIndex(named name: String, stopAtFirst: Bool = false, _ body: (Int) -> Void) {
        var name = name
        name.withUTF8 { wanted in
            bytes.withUnsafeBufferPointer { buffer in
                for (index, entry) in entries.enumerated() {
                    let candidate = UnsafeBufferPointer(rebasing: buffer[entry.nameStart..<entry.valueStart])
                    if HTTPBytes.equalsIgnoringCase(candidate, wanted) {
                        body(index)
                        if stopAtFirst { return }
                    }
                }
            }
        }
    }
}

extension HTTPFields: CustomStringConvertible {
    public var description: String {
        map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }
}
