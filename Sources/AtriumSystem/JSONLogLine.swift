/// One JSON object on one line, for the logs: `{"level":"error","msg":"…"}\n`.
///
/// It exists so that code below AtriumJSON (the HTTP server, the webhook dispatcher) writes
/// log lines that are valid JSON whatever a message contains: strings are escaped here, once.
public struct JSONLogLine {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 128) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Adds `"key":"value"` with `value` escaped.
    public mutating func string(_ key: String, _ value: String) {
        appendKey(key)
        Self.appendQuoted(value, to: &bytes)
    }

    /// Adds `"key":value` for an integer.
    public mutating func integer(_ key: String, _ value: Int) {
        appendKey(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// The finished line: the object closed and a newline.
    public func finished() -> [UInt8] {
        var line = bytes
        line.append(contentsOf: "}\n".utf8)
        return line
    }

    private mutating func appendKey(_ key: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        Self.appendQuoted(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Appends `text` as a JSON string: quotes, backslashes and control characters escaped.
    public static func appendQuoted(_ text: String, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): buffer.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): buffer.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): buffer.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): buffer.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                buffer.append(contentsOf: #"\u00"#.utf8)
                buffer.append(hex[Int(byte >> 4)])
                buffer.append(hex[Int(byte & 0xF)])
            default: buffer.append(byte)
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }
}
