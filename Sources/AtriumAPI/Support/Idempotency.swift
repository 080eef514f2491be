import AtriumCrypto
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// `Idempotency-Key` on a create (api.md §1): the same key from the same user with the same
/// request within 24 h answers the first response again (`Idempotent-Replayed: true`); the same
/// key with another request is `409 IDEMPOTENCY_CONFLICT`.
///
/// The look-up, the create and the saved answer share one write transaction, so two requests
/// racing with one key create one row: the second finds the first's answer.
/// A key belongs to (user, workspace) for creates inside a workspace and to the user alone for
/// account-level creates (`workspaceID` nil). What a request "is" is its method, path and body
/// (compact JSON, so whitespace does not matter).
struct Idempotency: Sendable {
    static let window: Int64 = 24 * 3600 * 1000

    let key: String
    let userID: Int64
    let workspaceID: Int64?
    let requestHash: [UInt8]
    /// Top-level members of the answer that are never stored (an API key's secret: only its
    /// hash is kept anywhere); a replay answers without them.
    let redacting: Set<String>

    /// Nil when the request carries no `Idempotency-Key`; a malformed one is 400 INVALID_PARAMETER.
    init?<Scope>(_ request: APIRequest<Scope>, workspaceID: Int64?, redacting: Set<String>) throws {
        guard let key = try RecordEndpoints.idempotencyKey(request) else { return nil }
        let http = request.http
        let body = (try? JSONParser.parse(http.body).serialized()) ?? http.body
        self.key = key
        self.userID = request.principal.userID
        self.workspaceID = workspaceID
        self.requestHash = SHA256Digest.hash(Array("\(http.method.rawValue) \(http.path)\n".utf8) + body)
        self.redacting = redacting
    }

    /// The first answer for this key, replayed; nil when the key is new. Call inside the write.
    func replay(_ reader: StoreReader, now: Int64) throws -> HTTPResponse? {
        let notBefore = now - Self.window
        let prior = if let workspaceID {
            try reader.idempotentResponse(userID: userID, workspaceID: workspaceID, key: key, notBefore: notBefore)
        } else {
            try reader.accountIdempotentResponse(userID: userID, key: key, notBefore: notBefore)
        }
        guard let prior else { return nil }
        guard prior.requestHash == requestHash else {
            throw APIError(.idempotencyConflict, "This Idempotency-Key was used with another request.")
        }
        var headers: [(name: String, value: String)] = [("Idempotent-Replayed", "true")]
        if let location = prior.location { headers.append(("Location", location)) }
        return HTTPResponse(status: prior.status, headers: headers, body: Array(prior.body.utf8))
    }

    /// Keeps a successful answer for the key's window. Call inside the same write.
    func save(_ response: HTTPResponse, writer: StoreWriter, now: Int64) throws {
        guard (200..<300).contains(response.status) else { return }
        var body = response.body
        if !redacting.isEmpty, case .object(let object)? = try? JSONParser.parse(body) {
            let kept = object.filter { !redacting.contains($0.key) }.map { ($0.key, $0.value) }
            body = JSONValue.object(JSONObject(kept))
                .serialized()
        }
        let location = response.headers.first { $0.name.lowercased() == "location" }?.value
        let stored = IdempotentResponse(requestHash: requestHash, status: response.status, location: location,
                                        body: String(decoding: body, as: UTF8.self))
        if let workspaceID {
            try writer.saveIdempotentResponse(userID: userID, workspaceID: workspaceID, key: key, response: stored,
                                              now: now)
        } else {
            try writer.saveAccountIdempotentResponse(userID: userID, key: key, response: stored, now: now)
        }
    }

    // MARK: The two shapes of create handler

    /// A create that answers from `store.write`: `body` makes the rows, `answer` renders them,
    /// both inside the transaction that looked the key up and saves the answer.
    static func create<Scope, Value: Sendable>(
        _ request: APIRequest<Scope>, workspaceID: Int64?, redacting: Set<String> = [],
        _ body: @escaping @Sendable (StoreWriter) throws -> Value,
        answer: @escaping @Sendable (Value) -> HTTPResponse
    ) throws -> HTTPResponse {
        let now = request.now
        guard let idempotency = try Idempotency(request, workspaceID: workspaceID, redacting: redacting) else {
            return answer(try request.services.store.write(body))
        }
        return try request.services.store.write { writer in
            if let replayed = try idempotency.replay(writer.reader, now: now) { return replayed }
            let response = answer(try body(writer))
            try idempotency.save(response, writer: writer, now: now)
            return response
        }
    }

    /// A create deferred to the writer (`StoreWrite`): the same, around its body.
    static func write<Scope>(_ request: APIRequest<Scope>, workspaceID: Int64?, redacting: Set<String> = [],
                             _ body: @escaping @Sendable (StoreWriter) throws -> StoreWrite.Outcome)
        throws -> StoreWrite
    {
        let now = request.now
        guard let idempotency = try Idempotency(request, workspaceID: workspaceID, redacting: redacting) else {
            return StoreWrite(body)
        }
        return StoreWrite { writer in
            if let replayed = try idempotency.replay(writer.reader, now: now) { return StoreWrite.Outcome(replayed) }
            let outcome = try body(writer)
            try idempotency.save(outcome.response, writer: writer, now: now)
            return outcome
        }
    }
}
