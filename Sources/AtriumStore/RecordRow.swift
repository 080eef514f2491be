/// A workspace-scoped JSON record; `data` is kept as the compact JSON text it was stored as,
/// so responses copy it instead of decoding and re-encoding it.
public struct RecordRow: Sendable, Equatable {
    public let id: Int64
    public let workspaceID: Int64
    public let collection: String
    public let data: String
    public let version: Int64
    public let createdBy: Int64
    public let createdAt: Int64
    public let updatedAt: Int64
}

/// The first response to a create made with an `Idempotency-Key`.
public struct IdempotentResponse: Sendable, Equatable {
    public let requestHash: [UInt8]
    public let status: Int
    public let location: String?
    public let body: String

    public init(requestHash: [UInt8], status: Int, location: String?, body: String) {
        self.requestHash = requestHash
        self.status = status
        self.location = location
        self.body = body
    }
}

/// One equality filter on a top-level field of `data` (api.md §6).
public struct RecordFilter: Sendable, Equatable {
    public let field: String
    public let value: String
    public init(field: String, value: String) {
        self.field = field
        self.value = value
    }
}
