import AtriumAuth
import AtriumCrypto
import AtriumHTTP
import AtriumJSON
import AtriumStore
import AtriumWebhooks

/// The outbox, read by callers (api.md §6 "Events"): every change's event in the webhook
/// payload's shape, for apps that want to react to changes without running a receiver.
///
/// A caller sees an event only if it could read what the event is about (record events need
/// `content:read`, member events `members:read`, workspace events `workspace:read`), in the
/// workspaces its admission resolved (one, or a fan-out with `workspaces=`).
enum EventEndpoints {
    static func all() -> [Endpoint] {
        [Endpoint(.get, "/v1/events", .list(.any, [], list), documentation: Docs.list),
         Endpoint(.get, "/v1/events/stream", .list(.any, [], stream), documentation: Docs.stream)]
    }

    /// What the OpenAPI document says about each operation.
    enum Docs {
        static let type = Parameter(
            "type", in: .query, .string(pattern: "^[a-z_]+\\\\.([a-z_]+|\\\\*)$"),
            "Only events of this type; `record.*` for a family. Repeat it for several.")
        static let after = Parameter(
            "after", in: .query, .string(pattern: "^(evt_)?[1-9][0-9]{0,18}$"),
            "Oldest first, starting after this event id (`evt_42` or `42`).")
        static let lastEventID = Parameter(
            "Last-Event-ID", in: .header, .string(pattern: "^(evt_)?[1-9][0-9]{0,18}$"),
            "Resume after this event (sent by EventSource on reconnection); wins over `after`.")
        static let stream = EndpointDocumentation(
            "streamEvents",
            "The resolved workspace's events as Server-Sent Events (`id:` the event id, `event:` its type, "
                + "`data:` the event JSON), from now or after an event, with a `: keep-alive` comment every 15 s",
            errors: [.cursorExpired, .invalidParameter], responseMediaType: "text/event-stream",
            parameters: [type, after, lastEventID])
        static let list = EndpointDocumentation(
            "listEvents", "The resolved workspace's events: newest first, or oldest first after an event",
            errors: [.cursorExpired], response: .page(of: .ref("Event")), parameters: [type, after], paginated: true)
    }

    /// Event types by the permission a caller needs to see them.
    static let families: [(prefix: String, permission: PermissionSet)] = [
        ("record.", .contentRead), ("member.", .membersRead), ("workspace.", .workspaceRead),
    ]

    /// The types the `type=` filters name (all when none), else 400 INVALID_PARAMETER.
    static func requestedTypes(_ query: QueryParameters) throws(APIError) -> Set<String> {
        let values = query.values("type")
        guard !values.isEmpty else { return Set(WebhookEndpoints.eventTypes) }
        var types = Set<String>()
        for value in values {
            for name in value.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                if name.hasSuffix(".*") {
                    let prefix = String(name.dropLast())
                    let family = WebhookEndpoints.eventTypes.filter { $0.hasPrefix(prefix) }
                    guard !family.isEmpty else { throw APIError.invalidParameter("type") }
                    types.formUnion(family)
                } else {
                    guard WebhookEndpoints.eventTypes.contains(name) else { throw APIError.invalidParameter("type") }
                    types.insert(name)
                }
            }
        }
        return types
    }

    /// The types a caller with `permissions` may see among `wanted`.
    static func visibleTypes(_ permissions: PermissionSet, of wanted: Set<String>) -> [String] {
        WebhookEndpoints.eventTypes.filter { type in
            wanted.contains(type)
                && families.contains { type.hasPrefix($0.prefix) && permissions.contains($0.permission) }
        }
    }

    /// Groups the resolved workspaces by the types their caller may see there.
    static func visibility(_ workspaces: [ResolvedWorkspace], wanted: Set<String>) -> [StoreReader.EventVisibility] {
        var groups: [[String]: [Int64]] = [:]
        for workspace in workspaces {
            groups[visibleTypes(workspace.permissions, of: wanted), default: []].append(workspace.workspaceID)
        }
        return groups.map { StoreReader.EventVisibility(workspaceIDs: $0.value, types: $0.key) }
    }

    /// `after=evt_42` or `after=42`: a positive event id, else 400 INVALID_PARAMETER.
    static func eventID(_ text: String) -> Int64? {
        WorkspaceResolver.parseWorkspaceID(text.hasPrefix("evt_") ? String(text.dropFirst(4)) : text)
    }

    /// Where the page starts: `cursor` (opaque; newest-first pages continue below it, pages
    /// after an event continue above it) or `after`, not both.
    static func position(_ query: QueryParameters) throws(APIError) -> StoreReader.EventPosition {
        let afterValues = query.values("after")
        let cursors = query.values("cursor")
        if !afterValues.isEmpty {
            guard afterValues.count == 1, cursors.isEmpty, let id = eventID(afterValues[0]) else {
                throw APIError.invalidParameter("after")
            }
            return .oldestAfter(id)
        }
        guard !cursors.isEmpty else { return .newestBefore(nil) }
        guard cursors.count == 1, let bytes = Base64.urlDecodeCanonical(cursors[0]),
              let text = String(validating: bytes, as: UTF8.self), let kind = text.first,
              let id = WorkspaceResolver.parseWorkspaceID(String(text.dropFirst())) else {
            throw APIError.invalidParameter("cursor")
        }
        switch kind {
        case "e": return .newestBefore(id)
        case "f": return .oldestAfter(id)
        default: throw APIError.invalidParameter("cursor")
        }
    }

    static let cursorExpired = APIError(
        .cursorExpired, "Events before this position are past the retention window; list again without a cursor.")

    /// A position is gone when events after it were purged (api.md: `410 CURSOR_EXPIRED`, never a
    /// silent gap): after an event, when the first event kept is past the next one; before an
    /// event, when that event itself is no longer kept.
    static func requireRetained(_ position: StoreReader.EventPosition, reader: StoreReader) throws {
        switch position {
        case .newestBefore(nil):
            return
        case .newestBefore(let before?):
            if before < (try reader.firstRetainedEventID()) { throw cursorExpired }
        case .oldestAfter(let after):
            if after + 1 < (try reader.firstRetainedEventID()) { throw cursorExpired }
        }
    }

    /// `GET /v1/events/stream`: checks what the list checks (types, position, retention), then
    /// answers with a streaming response that the hub (`EventStreamHub`) feeds. Without a
    /// position the stream starts at the newest event of this snapshot: it sends what is
    /// committed after it, with no gap between the two.
    static func stream(_ request: ListRequest, reader: StoreReader) throws -> HTTPResponse {
        let wanted = try requestedTypes(request.query)
        if !request.query.values("cursor").isEmpty { throw APIError.invalidParameter("cursor") }
        let cursor: Int64
        let lastEventIDs = request.http.headers.values("last-event-id")
        if !lastEventIDs.isEmpty {
            guard lastEventIDs.count == 1, let id = eventID(lastEventIDs[0].trimmingSpaces) else {
                throw APIError.invalidParameter("Last-Event-ID")
            }
            cursor = id
        } else if case .oldestAfter(let id) = try position(request.query) {
            cursor = id
        } else {
            cursor = try reader.lastEventID()
        }
        try requireRetained(.oldestAfter(cursor), reader: reader)
        let workspaces = request.scope.workspaces
        let subscription = EventSubscription(
            request: request, wanted: wanted, masks: EventTypeMasks(workspaces, wanted: wanted), cursor: cursor,
            credentialExpiresAt: try credentialExpiry(request))
        let hub = request.services.eventStreams
        var response = HTTPResponse(
            status: 200, headers: [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")],
            contentType: "text/event-stream")
        // A first comment, so a client sees the stream open before the first event.
        response.body = Array(": stream open\n\n".utf8)
        response.stream = HTTPStreamStart { stream in hub.subscribe(stream, subscription) }
        return response
    }

    /// When the request's credential stops working by itself: its key's expiry, or its
    /// access token's `exp` (the authenticator has already verified the token).
    private static func credentialExpiry(_ request: ListRequest) throws -> Int64? {
        if let key = request.keyRow { return key.expiresAt }
        guard case .bearer(let token) = try Authenticator.presented(request.http),
              let claims = try? request.services.codec.verify(token, now: request.now / 1000) else {
            return nil
        }
        return claims.expiresAt.multipliedReportingOverflow(by: 1000).overflow ? nil : claims.expiresAt * 1000
    }

    static func list(_ request: ListRequest, reader: StoreReader) throws -> HTTPResponse {
        let limit = try request.query.limit()
        let position = try position(request.query)
        let wanted = try requestedTypes(request.query)
        try requireRetained(position, reader: reader)
        let workspaces = request.scope.workspaces
        let events = try reader.events(visibility(workspaces, wanted: wanted), from: position, limit: limit + 1)
        let page = events.prefix(limit)
        var next: String?
        if events.count > limit, let last = page.last {
            let kind = if case .oldestAfter = position { "f" } else { "e" }
            next = Base64.urlEncode(Array("\(kind)\(last.id)".utf8))
        }
        let size = page.reduce(64) { $0 + $1.data.utf8.count + 160 }
        return Respond.json(capacity: size) { writer in
            Presenters.list(page, nextCursor: next, into: &writer) { event, writer in
                writer.raw(EventPayload.body(for: event, fields: nil))
            }
        }
    }
}
