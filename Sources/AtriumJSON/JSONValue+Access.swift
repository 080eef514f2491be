/// Typed accessors, so that callers validating a request body read fields without
/// pattern-matching every time. Each returns `nil` when the value has another type.
extension JSONValue {
    /// The member named `key` when this is an object; `nil` otherwise or when absent.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    public var stringValue: String? {
        guard case .string(let s) = self else { return nil }
        return s
    }

    /// The integer value when this is a number without fraction or exponent that fits Int64.
    public var int64Value: Int64? {
        guard case .number(let n) = self else { return nil }
        return n.int64
    }

    public var doubleValue: Double? {
        guard case .number(let n) = self else { return nil }
        return n.double
    }

    public var boolValue: Bool? {
        guard case .bool(let b) = self else { return nil }
        return b
    }

    public var objectValue: JSONObject? {
        guard case .object(let o) = self else { return nil }
        return o
    }

    public var arrayValue: [JSONValue]? {
        guard case .array(let a) = self else { return nil }
        return a
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Compact JSON bytes of this value.
    public func serialized() -> [UInt8] {
        var writer = JSONWriter()
        writer.value(self)
        return writer.bytes
    }

    /// Compact JSON text of this value.
    public var serializedString: String {
        String(decoding: serialized(), as: UTF8.self)
    }
}
