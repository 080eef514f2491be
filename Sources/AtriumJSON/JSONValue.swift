/// A parsed JSON document.
///
/// Atrium stores record `data` as JSON text and only parses request bodies, so this type
/// exists for the few places that must look inside a document (validation, merge patches,
/// JWT claims). Numbers keep their original text (`JSONNumber`) so that nothing is lost
/// between parsing and writing, and objects keep insertion order (`JSONObject`).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// Literal syntax for tests and fixed documents. (No `nil` literal: `object["k"] = nil`
/// must keep meaning "remove", so JSON null is always spelled `.null`.)
extension JSONValue: ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .number(JSONNumber(value)) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
}
