import AtriumAuth
import AtriumHTTP
import AtriumStore
import AtriumWebhooks

/// Which event types a caller may see in which workspaces, as one bit per type
/// (`WebhookEndpoints.eventTypes`) per workspace: the list's visibility rule
/// (`EventEndpoints.visibleTypes`) in the form a fan-out checks per event without allocating.
struct EventTypeMasks: Equatable, Sendable {
    private(set) var byWorkspace: [Int64: UInt16] = [:]

    /// The bit of `type`, 0 for a type outside the table.
    static func bit(_ type: String) -> UInt16 {
        guard let index = WebhookEndpoints.eventTypes.firstIndex(of: type) else { return 0 }
        return 1 << UInt16(index)
    }

    /// What a caller with these resolved workspaces sees of `wanted`; workspaces where it sees
    /// nothing are left out.
    init(_ workspaces: [ResolvedWorkspace], wanted: Set<String>) {
        for workspace in workspaces {
            let mask = EventEndpoints.visibleTypes(workspace.permissions, of: wanted)
                .reduce(UInt16(0)) { $0 | Self.bit($1) }
            if mask != 0 { byWorkspace[workspace.workspaceID] = mask }
        }
    }

    func shows(_ event: OutboxEvent) -> Bool {
        guard let mask = byWorkspace[event.workspaceID] else { return false }
        return mask & Self.bit(event.type) != 0
    }

    /// The same rule as the store's visibility groups, for a catch-up read.
    var groups: [StoreReader.EventVisibility] {
        var byMask: [UInt16: [Int64]] = [:]
        for (workspace, mask) in byWorkspace { byMask[mask, default: []].append(workspace) }
        return byMask.map { mask, workspaces in
            let types = WebhookEndpoints.eventTypes.filter { mask & Self.bit($0) != 0 }
            return StoreReader.EventVisibility(workspaceIDs: workspaces.sorted(), types: types)
        }
    }
}

/// What an admitted `GET /v1/events/stream` hands the hub: the request (to re-validate its
/// credential and workspaces later), the types it asked for, what it may see, and the last
/// event id it has (sent or skipped).
struct EventSubscription: Sendable {
    let request: ListRequest
    let wanted: Set<String>
    let masks: EventTypeMasks
    let cursor: Int64
    /// When the credential expires by itself (a key's `expires_at`, an access token's `exp`),
    /// in milliseconds: from then on the stream is re-validated before anything is sent.
    let credentialExpiresAt: Int64?
}

/// One open stream, as the hub thread keeps it.
final class EventSubscriber {
    let id: Int
    let stream: HTTPStream
    let subscription: EventSubscription
    var masks: EventTypeMasks
    /// The last event id this stream has been given or passed over.
    var cursor: Int64
    /// Still reading its backlog (`after`, `Last-Event-ID`, or events committed while it
    /// opened): fan-out skips it until it has caught up, so its events stay in order.
    var catchingUp = true
    /// This pass's output, sent as one chunk.
    var outgoing: [UInt8] = []

    init(id: Int, stream: HTTPStream, subscription: EventSubscription) {
        self.id = id
        self.stream = stream
        self.subscription = subscription
        self.masks = subscription.masks
        self.cursor = subscription.cursor
    }
}

/// The Server-Sent Events text (WHATWG HTML §9.2): one event is
/// `id: evt_N\nevent: <type>\ndata: <payload JSON on one line>\n\n`.
enum ServerSentEvents {
    static let heartbeat: [UInt8] = Array(": keep-alive\n\n".utf8)
    static let revoked: [UInt8] = Array(": access changed; reconnect\n\n".utf8)

    static func text(for event: OutboxEvent) -> [UInt8] {
        let payload = EventPayload.body(for: event, fields: nil)
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + event.type.utf8.count + 40)
        out.append(contentsOf: "id: evt_\(event.id)\nevent: \(event.type)\ndata: ".utf8)
        // JSON text has line breaks only as whitespace between tokens (inside strings they are
        // escaped), so a space keeps the payload on one `data:` line without changing it.
        for byte in payload { out.append(byte == 0x0A || byte == 0x0D ? 0x20 : byte) }
        out.append(contentsOf: "\n\n".utf8)
        return out
    }
}
