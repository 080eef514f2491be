/// A JSON number kept exactly as it was written.
///
/// Converting every number to `Double` would silently round large ids and money amounts;
/// keeping the text means a round trip never changes a document, and callers ask for the
/// representation they need (`int64` for ids and timestamps, `double` for measurements).
/// Equality compares the text, so `1` and `1.0` are different numbers here.
public struct JSONNumber: Sendable, Equatable {
    /// The number as written; always valid RFC 8259 number grammar.
    public let text: String

    /// Creates a number from its text, or `nil` when the text is not a JSON number
    /// (no leading `+`, no leading zeros, no `NaN`/`Infinity`, no surrounding spaces).
    public init?(text: String) {
        let valid = text.utf8.withContiguousStorageIfAvailable { JSONNumber.isValidGrammar($0) }
            ?? JSONNumber.isValidGrammar(Array(text.utf8))
        guard valid else { return nil }
        self.text = text
    }

    public init(_ value: Int64) {
        self.text = String(value)
    }

    /// Used by the parser, which has already checked the grammar.
    init(validatedText: String) {
        self.text = validatedText
    }

    /// The exact value when the number is an integer (no fraction, no exponent) that fits in
    /// `Int64`; `nil` otherwise. `1.0` and `1e3` are deliberately not integers here: the
    /// contract treats them as the wrong type wherever an integer is required.
    public var int64: Int64? {
        var iterator = text.utf8.makeIterator()
        guard var byte = iterator.next() else { return nil }
        let negative = byte == UInt8(ascii: "-")
        if negative {
            guard let next = iterator.next() else { return nil }
            byte = next
        }
        var value: Int64 = 0
        while true {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int64(byte &- UInt8(ascii: "0"))
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            // Accumulate negatively so that Int64.min is representable.
            let (next, o2) = shifted.subtractingReportingOverflow(digit)
            if o1 || o2 { return nil }
            value = next
            guard let following = iterator.next() else { break }
            byte = following
        }
        if negative { return value }
        let (positive, overflow) = value.multipliedReportingOverflow(by: -1)
        return overflow ? nil : positive
    }

    /// The value as a `Double`, or `nil` when it is outside the finite `Double` range.
    /// Large integers are rounded to the nearest representable value.
    public var double: Double? {
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    static func isValidGrammar<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var index = bytes.startIndex
        let end = bytes.endIndex
        func digit(_ i: C.Index) -> Bool {
            i != end && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9")
        }
        if index != end, bytes[index] == UInt8(ascii: "-") { bytes.formIndex(after: &index) }
        guard digit(index) else { return false }
        if bytes[index] == UInt8(ascii: "0") {
            bytes.formIndex(after: &index)
        } else {
            while digit(index) { bytes.formIndex(after: &index) }
        }
        if index != end, bytes[index] == UInt8(ascii: ".") {
            bytes.formIndex(after: &index)
            guard digit(index) else { return false }
            while digit(index) { bytes.formIndex(after: &index) }
        }
        if index != end, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            bytes.formIndex(after: &index)
            if index != end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                bytes.formIndex(after: &index)
            }
            guard digit(index) else { return false }
            while digit(index) { bytes.formIndex(after: &index) }
        }
        return index == end
    }
}
