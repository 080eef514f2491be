import AtriumJSON
import Foundation
import Glibc
import Testing

// Helpers for the records tests (api.md §6 and the §3 rules on records): RecordTests,
// RecordPaginationTests, RecordIsolationTests. Everything lives in `Rec` so that it cannot
// collide with the other suites' helpers.

enum Rec {
    static func collectionPath(_ collection: String = "items") -> String { "/v1/collections/\(collection)/records" }
    static func recordPath(_ id: Int64) -> String { "/v1/records/\(id)" }

    /// Header naming a workspace.
    static func ws(_ id: Int64) -> (String, String) { ("X-Workspace-ID", String(id)) }

    static func bearer(_ token: String) -> (String, String) { ("Authorization", "Bearer \(token)") }

    /// A JSON string literal.
    static func quote(_ text: String) -> String { String(decoding: JSONValue.string(text).serialized(), as: UTF8.self) }

    /// `{"data": <data>}` for a data object given as JSON text.
    static func body(_ dataJSON: String) -> String { #"{"data":\#(dataJSON)}"# }

    /// Parses JSON text the test wrote (crashes the test on a typo, which is what we want).
    static func json(_ text: String) -> JSONValue {
        (try? JSONParser.parse(Array(text.utf8), rejectDuplicateKeys: true)) ?? .string("<<bad test json: \(text)>>")
    }

    static func ids(_ response: TestResponse) -> [Int64] {
        (response.json["data"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }
    }

    static func nextCursor(_ response: TestResponse) -> String? { response.json["next_cursor"]?.stringValue }

    /// Percent-encodes a query value (everything but unreserved characters).
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let isUnreserved = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            out += isUnreserved ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }
        return out
    }

    /// RFC 3339 UTC with milliseconds.
    static func isTimestamp(_ value: JSONValue?) -> Bool {
        guard let text = value?.stringValue else { return false }
        return text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil
    }

    /// The contract's error envelope: status, code, success:false, a message, request_id = X-Request-ID,
    /// JSON content type.
    static func expectError(_ response: TestResponse, _ status: Int, _ code: String, _ comment: String = "",
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let context = "\(comment) → \(response.status) \(response.text.prefix(300))"
        #expect(response.status == status, "status \(context)", sourceLocation: sourceLocation)
        #expect(response.errorCode == code, "code \(context)", sourceLocation: sourceLocation)
        #expect(response.json["success"]?.boolValue == false, "success:false \(context)", sourceLocation: sourceLocation)
        #expect(response.json["error"]?["message"]?.stringValue?.isEmpty == false, "message \(context)",
                sourceLocation: sourceLocation)
        #expect(response.json["error"]?["request_id"]?.stringValue == response.header("X-Request-ID"),
                "request_id \(context)", sourceLocation: sourceLocation)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true, "content type \(context)",
                sourceLocation: sourceLocation)
    }

    // MARK: Requests

    /// `POST /v1/collections/{collection}/records`.
    static func create(_ client: HTTPTestClient, _ credential: (String, String), collection: String = "items",
                       data: String, headers: [(String, String)] = []) throws -> TestResponse {
        try client.request("POST", collectionPath(collection), headers: [credential] + headers, body: body(data))
    }

    /// Creates a record and returns its id (throws unless 201).
    @discardableResult
    static func createID(_ client: HTTPTestClient, _ credential: (String, String), collection: String = "items",
                         data: String, workspace: Int64? = nil) throws -> Int64 {
        let response = try create(client, credential, collection: collection, data: data,
                                  headers: workspace.map { [ws($0)] } ?? [])
        guard response.status == 201, let id = response.json["id"]?.int64Value else {
            throw TestFailure("create record failed: \(response.status) \(response.text)")
        }
        return id
    }

    static func get(_ client: HTTPTestClient, _ credential: (String, String), _ id: Int64,
                    headers: [(String, String)] = []) throws -> TestResponse {
        try client.request("GET", recordPath(id), headers: [credential] + headers)
    }

    /// One page of a collection; `query` is appended verbatim (without the leading `?`).
    static func list(_ client: HTTPTestClient, _ credential: (String, String), collection: String = "items",
                     query: String = "", headers: [(String, String)] = []) throws -> TestResponse {
        let path = collectionPath(collection) + (query.isEmpty ? "" : "?" + query)
        return try client.request("GET", path, headers: [credential] + headers)
    }

    /// Walks every page (throws on a non-200 page); returns the rows in order.
    static func listAll(_ client: HTTPTestClient, _ credential: (String, String), collection: String = "items",
                        query: String = "", limit: Int = 100, headers: [(String, String)] = [],
                        maxPages: Int = 1000) throws -> [JSONValue] {
        var rows: [JSONValue] = []
        var cursor: String?
        for _ in 0..<maxPages {
            var parts = ["limit=\(limit)"]
            if !query.isEmpty { parts.append(query) }
            if let cursor { parts.append("cursor=\(encode(cursor))") }
            let response = try list(client, credential, collection: collection, query: parts.joined(separator: "&"),
                                    headers: headers)
            guard response.status == 200 else { throw TestFailure("list failed: \(response.status) \(response.text)") }
            rows += response.json["data"]?.arrayValue ?? []
            guard let next = nextCursor(response) else { return rows }
            cursor = next
        }
        throw TestFailure("list did not end after \(maxPages) pages")
    }

    static func listAllIDs(_ client: HTTPTestClient, _ credential: (String, String), collection: String = "items",
                           query: String = "", limit: Int = 100, headers: [(String, String)] = []) throws -> [Int64] {
        try listAll(client, credential, collection: collection, query: query, limit: limit, headers: headers)
            .compactMap { $0["id"]?.int64Value }
    }

    /// `GET /v1/workspaces/{id}/usage` → (records, storage_bytes).
    static func usage(_ client: HTTPTestClient, _ account: TestAccount, _ workspace: Int64) throws
        -> (records: Int64, storage: Int64)
    {
        let response = try client.request("GET", "/v1/workspaces/\(workspace)/usage", headers: [account.bearer])
        guard response.status == 200, let records = response.json["records"]?.int64Value,
              let storage = response.json["storage_bytes"]?.int64Value else {
            throw TestFailure("usage failed: \(response.status) \(response.text)")
        }
        return (records, storage)
    }

    /// The records count of a workspace (for "nothing was written").
    static func recordCount(_ client: HTTPTestClient, _ account: TestAccount, _ workspace: Int64) throws -> Int64 {
        try usage(client, account, workspace).records
    }

    // MARK: Accounts, workspaces, keys, members

    static func signUp(_ client: HTTPTestClient, tag: String) throws -> TestAccount {
        try client.signUp(email: "\(tag)-\(UUID().uuidString.prefix(10).lowercased())@records.example.com",
                          name: "Records \(tag)")
    }

    /// A `workspace`-mode key of `workspaceID`.
    static func workspaceKey(_ client: HTTPTestClient, _ account: TestAccount, _ workspaceID: Int64) throws -> String {
        let response = try client.request("POST", "/v1/workspaces/\(workspaceID)/api-keys", headers: [account.bearer],
                                          body: #"{"name":"records-wk"}"#)
        guard response.status == 201, let secret = response.json["secret"]?.stringValue else {
            throw TestFailure("create workspace key failed: \(response.status) \(response.text)")
        }
        return secret
    }

    /// A `full` or `scoped` key.
    static func accountKey(_ client: HTTPTestClient, _ account: TestAccount, mode: String,
                           workspaceIDs: [Int64]? = nil) throws -> String {
        var body = #"{"name":"records-key","mode":"\#(mode)""#
        if let workspaceIDs { body += #","workspace_ids":[\#(workspaceIDs.map(String.init).joined(separator: ","))]"# }
        body += "}"
        let response = try client.request("POST", "/v1/api-keys", headers: [account.bearer], body: body)
        guard response.status == 201, let secret = response.json["secret"]?.stringValue else {
            throw TestFailure("create key failed: \(response.status) \(response.text)")
        }
        return secret
    }

    /// `owner` invites `invitee` into `workspace` with `role`; the invitee accepts.
    static func addMember(_ client: HTTPTestClient, owner: TestAccount, workspace: Int64, invitee: TestAccount,
                          role: String) throws {
        let invite = try client.request("POST", "/v1/workspaces/\(workspace)/members/invite", headers: [owner.bearer],
                                        body: #"{"email":\#(quote(invitee.email)),"role":"\#(role)"}"#)
        guard invite.status == 201, let token = invite.json["token"]?.stringValue else {
            throw TestFailure("invite failed: \(invite.status) \(invite.text)")
        }
        let accept = try client.request("POST", "/v1/workspaces/invitations/\(encode(token))/accept",
                                        headers: [invitee.bearer])
        guard accept.status == 200 else { throw TestFailure("accept failed: \(accept.status) \(accept.text)") }
    }
}

/// A small deterministic generator (SplitMix64) so that a failing randomized run can be replayed.
struct RecordSeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A flag threads can poll.
final class RecordStopFlag: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = false
    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
    func set() {
        lock.lock()
        value = true
        lock.unlock()
    }
}

/// A thread-safe list.
final class RecordBag<Value>: @unchecked Sendable {
    // @unchecked Sendable: `values` is only touched under `lock`.
    private let lock = NSLock()
    private var values: [Value] = []
    func append(_ value: Value) {
        lock.lock()
        values.append(value)
        lock.unlock()
    }
    var all: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}

/// Runs `count` bodies on their own threads, all released together, and waits for all of them.
func recordThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    let start = DispatchSemaphore(value: 0)
    for index in 0..<count {
        group.enter()
        Thread.detachNewThread {
            start.wait()
            body(index)
            group.leave()
        }
    }
    for _ in 0..<count { start.signal() }
    group.wait()
}
