import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How an ``EventStream`` reconnects, and when it takes a silent connection for dead.
public struct EventStreamPolicy: Sendable {
    /// The base wait before reconnecting; a `retry:` from the server replaces it.
    public var initialDelay: Duration
    /// The most a wait grows to (exponential backoff with jitter: a random wait between half and
    /// all of the base doubled per consecutive failure).
    public var maxDelay: Duration
    /// Consecutive failed connections after which the sequence throws the last error; nil: keep
    /// trying (what `EventSource` does). A connection that delivered bytes resets the count.
    public var maxAttempts: Int?
    /// A connection on which no byte (not even the heartbeat comment the server writes every 15 s)
    /// arrives for this long is dropped and reopened.
    public var idleTimeout: Duration

    public init(initialDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(30), maxAttempts: Int? = nil,
                idleTimeout: Duration = .seconds(45)) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.maxAttempts = maxAttempts
        self.idleTimeout = idleTimeout
    }

    /// The wait before reconnection `attempt` (1-based).
    func delay(attempt: Int, base: Duration) -> Duration {
        let ceiling = min(maxDelay.seconds, base.seconds * pow(2, Double(max(0, attempt - 1))))
        guard ceiling > 0 else { return .zero }
        return .milliseconds(Int64(Double.random(in: ceiling / 2...ceiling) * 1000))
    }
}

extension Operations {
    /// `GET /v1/events/stream`: hand-written (``EventStream``), not generated; the generator
    /// excludes it because its answer is a stream of Server-Sent Events, not one JSON body.
    static let streamEvents = APIOperation(
        id: "streamEvents", method: "GET", path: "/v1/events/stream",
        auth: .any, scope: .fanOutList, paginated: false, idempotencyKey: false, ifMatch: false)
}

extension Events {
    /// Follows the resolved workspace's events (or a fan-out's) as they are committed:
    /// `GET /v1/events/stream` as an `AsyncSequence` of ``Event``.
    ///
    /// ```swift
    /// for try await event in client.events.stream(types: ["record.*"]) {
    ///     print(event.id, event.type, event.data)
    /// }
    /// ```
    ///
    /// The sequence reconnects by itself after a dropped connection, a network error, a `5xx`,
    /// or a connection silent for `policy.idleTimeout`, sending `Last-Event-ID` so the server
    /// resumes after the last event delivered: no event is lost or repeated. It throws
    /// ``AtriumError`` on an answer that reconnecting cannot change (`401`, `403`, `404`,
    /// `410 CURSOR_EXPIRED`, other `4xx`) and ends (returns nil) when the iterating task is
    /// cancelled. Without `after`, it starts with what is committed after it opens.
    /// - Parameters:
    ///   - types: `type=` filters: `record.created`, a family `record.*`; empty: every type.
    ///   - workspaces: a fan-out (`workspaces=all` or ids); nil: the selected workspace.
    ///   - after: start after this event (`evt_42` or `42`), backlog first.
    ///   - options: the workspace (`X-Workspace-ID`) and request id; retries follow `policy`.
    public func stream(types: [String] = [], workspaces: FanOut? = nil, after: String? = nil,
                       options: RequestOptions = RequestOptions(),
                       policy: EventStreamPolicy = EventStreamPolicy()) -> EventStream {
        EventStream(client: client, types: types, workspaces: workspaces, after: after, options: options,
                    policy: policy)
    }
}

/// The events of `GET /v1/events/stream`, with automatic resume; see
/// ``Events/stream(types:workspaces:after:options:policy:)``. Each iteration opens its own stream.
public struct EventStream: AsyncSequence, Sendable {
    public typealias Element = Event
    let client: AtriumClient
    let types: [String]
    let workspaces: FanOut?
    let after: String?
    let options: RequestOptions
    let policy: EventStreamPolicy

    public func makeAsyncIterator() -> Iterator { Iterator(stream: self) }

    /// Pulls events one connection at a time; reconnects between them.
    public struct Iterator: AsyncIteratorProtocol {
        let stream: EventStream
        /// The id of the last event this iterator returned or holds: what `Last-Event-ID` carries.
        public private(set) var lastEventID: String?
        private var pending: [Event] = []
        private var connection: EventStreamConnection?
        private var chunks: AsyncStream<StreamChunk>.Iterator?
        private var parser = ServerSentEventParser()
        /// A non-2xx answer being read: its status, headers and body so far.
        private var refusal: (status: Int, headers: [String: String], body: Data)?
        /// The access token the open connection sent, for a session.
        private var token: String?
        private var refreshedToken: String?
        /// Consecutive connections that failed before delivering a byte.
        private var failures = 0
        /// The server's `retry:`.
        private var retry: Duration?
        /// The `Retry-After` of a 429 or 503, for the next wait.
        private var retryAfter: Duration?
        private var lastFailure: AtriumError?
        private var finished = false

        init(stream: EventStream) {
            self.stream = stream
        }

        public mutating func next() async throws -> Event? {
            while true {
                if !pending.isEmpty { return pending.removeFirst() }
                if finished || Task.isCancelled { return end() }
                guard var iterator = chunks else {
                    do {
                        try await open()
                    } catch is CancellationError {
                        return end()
                    } catch {
                        end()
                        throw error
                    }
                    continue
                }
                let chunk = await iterator.next()
                chunks = iterator
                do {
                    try await handle(chunk)
                } catch is CancellationError {
                    return end()
                } catch {
                    end()
                    throw error
                }
            }
        }

        /// Stops the connection; the sequence is over.
        @discardableResult
        private mutating func end() -> Event? {
            finished = true
            pending.removeAll()
            drop()
            return nil
        }

        private mutating func drop() {
            connection?.stop()
            connection = nil
            chunks = nil
            refusal = nil
        }

        /// Waits as the backoff (or a `Retry-After`) says after a failure, then opens a connection.
        private mutating func open() async throws {
            if failures > 0 {
                if let limit = stream.policy.maxAttempts, failures >= limit, let lastFailure { throw lastFailure }
                let base = retry ?? stream.policy.initialDelay
                let wait = retryAfter ?? stream.policy.delay(attempt: failures, base: base)
                retryAfter = nil
                try await Task.sleep(for: wait)
            }
            var request = try makeRequest()
            token = try await stream.client.authorize(&request, Operations.streamEvents)
            parser = ServerSentEventParser(lastEventID: lastEventID)
            refusal = nil
            let connection = EventStreamConnection(request, idleTimeout: stream.policy.idleTimeout)
            self.connection = connection
            chunks = connection.chunks.makeAsyncIterator()
        }

        private func makeRequest() throws -> URLRequest {
            var query: [URLQueryItem] = []
            if let workspaces = stream.workspaces {
                query.append(URLQueryItem(name: "workspaces", value: workspaces.queryValue))
            }
            if !stream.types.isEmpty {
                query.append(URLQueryItem(name: "type", value: stream.types.joined(separator: ",")))
            }
            // The first connection starts after `after`; later ones after what was delivered.
            if lastEventID == nil, let after = stream.after { query.append(URLQueryItem(name: "after", value: after)) }
            var request = try stream.client.makeRequest(
                Operations.streamEvents, path: Operations.streamEvents.path, query: query, body: nil as Empty?,
                ifMatch: nil, fanOut: stream.workspaces != nil, options: stream.options)
            request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
            request.setValue("no-cache", forHTTPHeaderField: "Cache-Control")
            if let lastEventID { request.setValue(lastEventID, forHTTPHeaderField: "Last-Event-ID") }
            return request
        }

        private mutating func handle(_ chunk: StreamChunk?) async throws {
            switch chunk {
            case .response(let status, let headers)?:
                if (200..<300).contains(status) {
                    let type = headers["content-type"] ?? ""
                    guard type.hasPrefix("text/event-stream") else {
                        throw AtriumError.transport(.invalidResponse("streamEvents: \(status) \(type)"))
                    }
                } else {
                    refusal = (status, headers, Data())
                }
            case .bytes(let data)?:
                if refusal != nil {
                    if refusal!.body.count < 65_536 { refusal!.body.append(data) }
                    return
                }
                failures = 0
                lastFailure = nil
                for message in parser.feed(data) {
                    try take(message)
                }
                if let retry = parser.retry { self.retry = retry }
            case .ended(let failure)?:
                let refused = refusal
                drop()
                if let refused {
                    try await refuse(refused)
                } else {
                    lost(failure.map(AtriumError.transport) ?? AtriumError.transport(.connectionLost("stream ended")))
                }
            case .idle?:
                drop()
                lost(AtriumError.transport(.timedOut))
            case nil:
                // The chunks ended without a last word: the iterating task was cancelled.
                drop()
                if Task.isCancelled { throw CancellationError() }
                lost(AtriumError.transport(.connectionLost("stream closed")))
            }
        }

        private mutating func take(_ message: ServerSentEvent) throws {
            let event: Event
            do {
                event = try Timestamps.decoder().decode(Event.self, from: Data(message.data.utf8))
            } catch {
                throw AtriumError.transport(.invalidResponse("streamEvents: an event that is not an Event: \(error)"))
            }
            lastEventID = message.id ?? event.id
            pending.append(event)
        }

        /// The connection went away: reconnect after the backoff.
        private mutating func lost(_ error: AtriumError) {
            failures += 1
            lastFailure = error
        }

        /// A non-2xx answer: reconnect when it may pass (an expired token, a 429, a 5xx), else throw.
        private mutating func refuse(_ answer: (status: Int, headers: [String: String], body: Data)) async throws {
            let error = AtriumError.decode(status: answer.status, headers: answer.headers, body: answer.body)
            if error.code == .tokenExpired, let store = stream.client.session, let token, refreshedToken != token {
                refreshedToken = token
                _ = try await store.refreshed(after: token, refresh: stream.client.refresher)
                return  // the next connection carries the new token
            }
            switch answer.status {
            case 429, 503:
                failures += 1
                lastFailure = error
                if let wait = error.retryAfter {
                    guard wait <= stream.client.configuration.retry.maxRetryAfter else { throw error }
                    retryAfter = wait
                }
            case 500, 502, 504:
                failures += 1
                lastFailure = error
            default:
                throw error  // 401, 403, 404, 410 CURSOR_EXPIRED, other 4xx: reconnecting cannot help
            }
        }
    }
}
