import AtriumHTTP
import AtriumJSON

/// Builders for the contract's success responses.
public enum Respond {
    /// A JSON body written by `build`.
    public static func json(_ status: Int = 200, headers: [(name: String, value: String)] = [],
                            capacity: Int = 512, _ build: (inout JSONWriter) -> Void) -> HTTPResponse {
        var writer = JSONWriter(capacity: capacity)
        build(&writer)
        return HTTPResponse(status: status, headers: headers, body: writer.bytes)
    }

    /// `201` with `Location`.
    public static func created(location: String, _ build: (inout JSONWriter) -> Void) -> HTTPResponse {
        json(201, headers: [("Location", location)], build)
    }

    /// `204`, no body.
    public static func noContent() -> HTTPResponse { HTTPResponse(status: 204) }
}

extension JSONWriter {
    /// `"key": value` for an optional integer (null when nil).
    mutating func field(_ name: String, _ value: Int64?) {
        key(name)
        if let value { int(value) } else { null() }
    }

    mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    mutating func field(_ name: String, _ value: Bool) {
        key(name)
        bool(value)
    }

    /// A timestamp field in RFC 3339 (null when nil).
    mutating func timeField(_ name: String, _ milliseconds: Int64?) {
        key(name)
        guard let milliseconds else {
            null()
            return
        }
        rawValue { bytes in
            bytes.append(UInt8(ascii: "\""))
            Timestamp.append(milliseconds, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
    }
}
