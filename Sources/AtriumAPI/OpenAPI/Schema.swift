import AtriumJSON

/// A JSON Schema (the OpenAPI 3.1 dialect), as much of it as the contract needs. Endpoints
/// name their request and response shapes with these; `OpenAPIDocument` renders them.
public indirect enum Schema: Sendable {
    /// A named component (`#/components/schemas/<name>`).
    case ref(String)
    case string(format: String? = nil, pattern: String? = nil, values: [String]? = nil, minLength: Int? = nil,
                maxLength: Int? = nil)
    case integer(minimum: Int64? = nil, maximum: Int64? = nil)
    case number
    case boolean
    /// An object; `additional: false` forbids other members.
    case object(_ properties: [(String, Schema)], required: [String] = [], additional: Bool = true)
    /// Any JSON object (metadata, record data).
    case anyObject
    case array(Schema, minItems: Int? = nil, maxItems: Int? = nil)
    /// The schema, or null.
    case nullable(Schema)
    /// A constant value.
    case constant(JSONValue)

    /// Shorthands for the contract's common shapes.
    public static let id = Schema.integer(minimum: 1)
    public static let text = Schema.string()
    public static let timestamp = Schema.string(format: "date-time")

    /// An object whose every property is required.
    public static func record(_ properties: [(String, Schema)], optional: [String] = []) -> Schema {
        .object(properties, required: properties.map(\.0).filter { !optional.contains($0) })
    }

    /// `{"data": [item], "next_cursor": string|null}`.
    public static func page(of item: Schema) -> Schema {
        .object([("data", .array(item)), ("next_cursor", .nullable(.string()))], required: ["data"])
    }

    public var json: JSONValue {
        func object(_ pairs: [(String, JSONValue?)]) -> JSONValue {
            .object(JSONObject(pairs.compactMap { key, value in value.map { (key, $0) } }))
        }
        func number(_ value: Int64?) -> JSONValue? { value.map { .number(JSONNumber($0)) } }
        func number(_ value: Int?) -> JSONValue? { value.map { .number(JSONNumber(Int64($0))) } }
        switch self {
        case .ref(let name):
            return object([("$ref", .string("#/components/schemas/\(name)"))])
        case .string(let format, let pattern, let values, let minLength, let maxLength):
            return object([("type", .string("string")), ("format", format.map(JSONValue.string)),
                           ("pattern", pattern.map(JSONValue.string)),
                           ("enum", values.map { .array($0.map(JSONValue.string)) }),
                           ("minLength", number(minLength)), ("maxLength", number(maxLength))])
        case .integer(let minimum, let maximum):
            return object([("type", .string("integer")), ("minimum", number(minimum)), ("maximum", number(maximum))])
        case .number:
            return object([("type", .string("number"))])
        case .boolean:
            return object([("type", .string("boolean"))])
        case .object(let properties, let required, let additional):
            return object([
                ("type", .string("object")),
                ("properties", .object(JSONObject(properties.map { ($0.0, $0.1.json) }))),
                ("required", required.isEmpty ? nil : .array(required.map(JSONValue.string))),
                ("additionalProperties", additional ? nil : .bool(false)),
            ])
        case .anyObject:
            return object([("type", .string("object"))])
        case .array(let items, let minItems, let maxItems):
            return object([("type", .string("array")), ("items", items.json), ("minItems", number(minItems)),
                           ("maxItems", number(maxItems))])
        case .nullable(let schema):
            return object([("anyOf", .array([schema.json, object([("type", .string("null"))])]))])
        case .constant(let value):
            return object([("const", value)])
        }
    }
}

/// A query parameter or header an endpoint reads beyond what its scope implies.
public struct Parameter: Sendable {
    public enum Location: String, Sendable { case query, header }
    public let name: String
    public let location: Location
    public let schema: Schema
    public let description: String
    /// `filter[<field>]`: an object serialized as `deepObject`.
    public let deepObject: Bool

    public init(_ name: String, in location: Location, _ schema: Schema, _ description: String,
                deepObject: Bool = false) {
        self.name = name
        self.location = location
        self.schema = schema
        self.description = description
        self.deepObject = deepObject
    }

    public static let limit = Parameter(
        "limit", in: .query, .integer(minimum: 1, maximum: 100), "Page size, 1–100 (default 20).")
    public static let cursor = Parameter(
        "cursor", in: .query, .string(minLength: 1), "The `next_cursor` of the previous page.")
    public static let idempotencyKey = Parameter(
        "Idempotency-Key", in: .header, .string(pattern: "^[!-~]{1,255}$"),
        "Makes the create safe to retry for 24 hours: the same key and body answer the first response.")
    public static let ifMatch = Parameter(
        "If-Match", in: .header, .string(),
        "`\"<version>\"` (or `*`): change the record only at that version, else 412.")
    public static let recordFilter = Parameter(
        "filter", in: .query, .object([], additional: true),
        "`filter[<field>]=<value>`: equality on a top-level field of `data`; several must all match.", deepObject: true)
}

/// "The output of this operation feeds that one" (OpenAPI links), for stateful testing.
public struct OperationLink: Sendable {
    public let name: String
    public let operationID: String
    /// Target parameter name → runtime expression, e.g. `"id": "$response.body#/id"`.
    public let parameters: [(String, String)]

    /// A link to `operationID`, named after it (`getRecord` → `GetRecord`), so a link cannot
    /// name one operation and lead to another.
    public init(to operationID: String, _ parameters: [(String, String)]) {
        self.name = operationID.prefix(1).uppercased() + operationID.dropFirst()
        self.operationID = operationID
        self.parameters = parameters
    }

    /// Links to each of `operationIDs`, all fed the same parameters.
    public static func each(_ operationIDs: [String], _ parameters: [(String, String)]) -> [OperationLink] {
        operationIDs.map { OperationLink(to: $0, parameters) }
    }

    /// The usual parameters: the target's `id` from the answer's `id`.
    public static let idFromBody = [("id", "$response.body#/id")]
}
