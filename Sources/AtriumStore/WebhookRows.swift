/// A workspace's webhook endpoint (api.md §6). `secret` is kept as issued because every
/// delivery must be signed with it; it is only ever shown at creation and rotation.
public struct WebhookRow: Sendable, Equatable {
    public var id: Int64
    public var workspaceID: Int64
    public var url: String
    public var description: String?
    /// Event types, or `["*"]`.
    public var events: [String]
    /// Top-level record data fields sent; nil for all.
    public var fields: [String]?
    public var active: Bool
    /// Why Atrium turned the endpoint off (`"gone"` after a 410), nil otherwise.
    public var disabledReason: String?
    public var secret: String
    public var previousSecret: String?
    public var previousSecretExpiresAt: Int64?
    public var secretRotatedAt: Int64?
    public var createdBy: Int64
    public var createdAt: Int64
    public var updatedAt: Int64
    /// The outbox id up to which first attempts are settled (the dispatcher's, read-only here).
    public var cursor: Int64

    public init(id: Int64, workspaceID: Int64, url: String, description: String?, events: [String], fields: [String]?,
                active: Bool, disabledReason: String?, secret: String, previousSecret: String?,
                previousSecretExpiresAt: Int64?, secretRotatedAt: Int64?, createdBy: Int64, createdAt: Int64,
                updatedAt: Int64, cursor: Int64 = 0) {
        self.id = id
        self.workspaceID = workspaceID
        self.url = url
        self.description = description
        self.events = events
        self.fields = fields
        self.active = active
        self.disabledReason = disabledReason
        self.secret = secret
        self.previousSecret = previousSecret
        self.previousSecretExpiresAt = previousSecretExpiresAt
        self.secretRotatedAt = secretRotatedAt
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.cursor = cursor
    }

    /// True when events of `type` go to this endpoint.
    public func wants(_ type: String) -> Bool {
        events.contains("*") || events.contains(type)
    }
}

/// The state of one delivery attempt.
public enum DeliveryStatus: String, Sendable {
    case pending, succeeded, failed
}

/// One attempt to deliver one event to one endpoint.
public struct DeliveryRow: Sendable, Equatable {
    public var id: Int64
    public var webhookID: Int64
    /// The outbox id of the event.
    public var eventID: Int64
    public var eventType: String
    public var attempt: Int
    public var status: DeliveryStatus
    public var responseStatus: Int?
    public var error: String?
    public var durationMilliseconds: Int64?
    public var createdAt: Int64
    public var nextAttemptAt: Int64?
}

/// An event as the outbox holds it (docs/events.md).
public struct OutboxEvent: Sendable, Equatable {
    public let id: Int64
    public let workspaceID: Int64
    public let type: String
    /// JSON text of the object after the change.
    public let data: String
    public let createdAt: Int64

    public init(id: Int64, workspaceID: Int64, type: String, data: String, createdAt: Int64) {
        self.id = id
        self.workspaceID = workspaceID
        self.type = type
        self.data = data
        self.createdAt = createdAt
    }
}

/// What finished attempts write back, applied by the dispatcher in one transaction.
public struct DeliveryOutcome: Sendable {
    /// The pending row of a retry; nil for a first attempt, which has no row yet.
    public var deliveryID: Int64?
    public var webhookID: Int64
    public var eventID: Int64
    public var eventType: String
    public var attempt: Int
    public var succeeded: Bool
    public var responseStatus: Int?
    public var error: String?
    public var durationMilliseconds: Int64
    /// When the next attempt runs; nil when there is none.
    public var retryAt: Int64?
    /// Turn the endpoint off with this reason (a 410).
    public var disableReason: String?

    /// When the attempt was made.
    public var attemptedAt: Int64

    public init(deliveryID: Int64?, webhookID: Int64, eventID: Int64, eventType: String, attempt: Int, succeeded: Bool,
                responseStatus: Int?, error: String?, durationMilliseconds: Int64, retryAt: Int64?,
                disableReason: String?, attemptedAt: Int64 = 0) {
        self.deliveryID = deliveryID
        self.attemptedAt = attemptedAt
        self.webhookID = webhookID
        self.eventID = eventID
        self.eventType = eventType
        self.attempt = attempt
        self.succeeded = succeeded
        self.responseStatus = responseStatus
        self.error = error
        self.durationMilliseconds = durationMilliseconds
        self.retryAt = retryAt
        self.disableReason = disableReason
    }
}
