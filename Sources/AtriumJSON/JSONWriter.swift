/// Writes compact JSON straight into a byte buffer.
///
/// Responses are written, not encoded: `JSONEncoder` costs more than the rest of a small
/// request. The writer places commas itself so that handlers cannot produce `{"a":1"b":2}`
/// or `[1,]`, and escapes strings so that no input can break out of a string literal.
///
/// Comma rule: a value or key needs a leading comma exactly when the innermost open container
/// already holds something. Closing a container always leaves its parent holding something,
/// so one "needs comma" bit suffices — no stack is required to get nesting right.
public struct JSONWriter {
    public var bytes: [UInt8]
    private var needsComma = false

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(max(capacity, 0))
    }

    // MARK: Containers

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes `"k":`, preceded by a comma when the object already has a member.
    public mutating func key(_ k: String) {
        separate()
        appendQuoted(k)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: Scalars

    public mutating func string(_ s: String) {
        separate()
        appendQuoted(s)
        needsComma = true
    }

    public mutating func int(_ v: Int64) {
        separate()
        appendDecimal(v)
        needsComma = true
    }

    public mutating func int(_ v: Int) {
        int(Int64(v))
    }

    public mutating func bool(_ v: Bool) {
        separate()
        if v {
            bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65])  // true
        } else {
            bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])  // false
        }
        needsComma = true
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])  // null
        needsComma = true
    }

    /// Writes a number exactly as its text.
    public mutating func number(_ n: JSONNumber) {
        raw(n.text)
    }

    /// Writes `s` as a string, or `null` when it is `nil`.
    public mutating func optionalString(_ s: String?) {
        if let s { string(s) } else { null() }
    }

    /// Writes any value tree.
    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let n): number(n)
        case .string(let s): string(s)
        case .array(let elements):
            beginArray()
            for element in elements { value(element) }
            endArray()
        case .object(let object):
            beginObject()
            for (k, element) in object {
                key(k)
                value(element)
            }
            endObject()
        }
    }

    /// Inserts pre-serialized JSON (for example a record's stored `data`) as one value.
    /// The caller vouches that it is a valid JSON value.
    public mutating func raw(_ bytes: [UInt8]) {
        separate()
        self.bytes.append(contentsOf: bytes)
        needsComma = true
    }

    /// Lets `body` append the bytes of one pre-serialized JSON value in place (no temporary
    /// array); the caller vouches that they form a valid JSON value.
    public mutating func rawValue(_ body: (inout [UInt8]) -> Void) {
        separate()
        body(&bytes)
        needsComma = true
    }

    /// Inserts pre-serialized JSON text as one value.
    public mutating func raw(_ s: String) {
        separate()
        bytes.append(contentsOf: s.utf8)
        needsComma = true
    }

    // MARK: Internals

    @inline(__always)
    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendDecimal(_ v: Int64) {
        // Work on the magnitude as UInt64 so that Int64.min is handled.
        var magnitude = v.magnitude
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        var count = 1
        var probe = magnitude
        while probe >= 10 {
            probe /= 10
            count += 1
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: count))
        var i = start + count
        while magnitude > 0 {
            i -= 1
            bytes[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func appendQuoted(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let byte = utf8[i]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                runStart = i + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [
                        UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                        JSONWriter.hexDigits[Int(byte >> 4)], JSONWriter.hexDigits[Int(byte & 0x0F)],
                    ])
                }
            }
            if runStart < utf8.count {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
