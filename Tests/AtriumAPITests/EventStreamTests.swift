import AtriumJSON
import Foundation
import Glibc
import Testing

/// `GET /v1/events/stream` (api.md §6 "Events") over real sockets: Server-Sent Events in order
/// and complete under concurrent writes, resumable without loss or duplicates, visible only as
/// the caller's rights allow (and ended when they go), bounded for a client that stops
/// reading, kept alive by heartbeats, ended cleanly by a graceful shutdown.
@Suite("Event stream")
struct EventStreamTests {
    /// Opens a stream and waits for its first comment: from then on the stream has its start.
    static func open(_ server: TestServer, _ headers: [(String, String)], query: String = "",
                     receiveBuffer: Int? = nil) throws -> EventStreamClient {
        let stream = try EventStreamClient(port: server.port, path: "/v1/events/stream" + query, headers: headers,
                                           receiveBuffer: receiveBuffer)
        guard stream.status == 200 else { return stream }
        guard stream.next(timeout: 10) == .comment("stream open") else { throw TestFailure("no opening comment") }
        return stream
    }

    static func record(_ client: HTTPTestClient, _ account: TestAccount, _ workspaceID: Int64? = nil,
                       data: String = #"{"n":1}"#) throws -> Int64 {
        let response = try Admin.createRecord(client, account.bearer, workspaceID ?? account.mainWorkspaceID, data: data)
        guard response.status == 201, let id = response.json["id"]?.int64Value else {
            throw TestFailure("create failed: \(response.status) \(response.text)")
        }
        return id
    }

    /// The list's ids, oldest first: all of them (up to 100), or those after `after`.
    static func listedIDs(_ client: HTTPTestClient, _ account: TestAccount, after: Int64 = 0) throws -> [Int64] {
        guard after > 0 else {
            let response = try client.request("GET", "/v1/events?limit=100", headers: [account.bearer])
            return EventListTests.ids(response).reversed()
        }
        let response = try client.request("GET", "/v1/events?limit=100&after=\(after)", headers: [account.bearer])
        return EventListTests.ids(response)
    }

    @Test("Head: 200 text/event-stream, chunked, no Content-Length, no-cache, X-Accel-Buffering: no")
    func head() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let stream = try Self.open(server, [owner.bearer])
        #expect(stream.status == 200)
        #expect(stream.header("Content-Type") == "text/event-stream")
        #expect(stream.header("Transfer-Encoding") == "chunked")
        #expect(stream.header("Content-Length") == nil)
        #expect(stream.header("Cache-Control") == "no-cache")
        #expect(stream.header("X-Accel-Buffering") == "no")
        #expect(stream.header("X-Workspace-ID") == String(owner.mainWorkspaceID))
        let recordID = try Self.record(client, owner)
        let events = stream.events(1, timeout: 10)
        #expect(events.count == 1 && events.first?.type == "record.created")
        let payload = try JSONParser.parse(Array((events.first?.data ?? "").utf8), rejectDuplicateKeys: true)
        #expect(payload["id"]?.stringValue == "evt_\(events.first?.id ?? 0)")
        #expect(payload["type"]?.stringValue == "record.created")
        #expect(payload["workspace_id"]?.int64Value == owner.mainWorkspaceID)
        #expect(payload["data"]?["id"]?.int64Value == recordID)
        expectError(try client.request("GET", "/v1/events/stream?type=nope", headers: [owner.bearer]), 400,
                    "INVALID_PARAMETER")
        expectError(try client.request("GET", "/v1/events/stream", headers: [owner.bearer, ("Last-Event-ID", "x")]),
                    400, "INVALID_PARAMETER")
        expectError(try client.request("GET", "/v1/events/stream"), 401, "UNAUTHENTICATED")
    }

    @Test("Order and completeness: 4 writers × 25 records, every event once, ascending, like the list")
    func orderUnderConcurrentWrites() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let before = try Self.record(client, owner)
        let start = try #require(Self.listedIDs(client, owner).last)
        let stream = try Self.open(server, [owner.bearer], query: "?type=record.*")
        let port = server.port
        let failures = Collected<String>()
        runOnThreads(4) { index in
            do {
                let writer = try HTTPTestClient(port: port)
                for n in 0..<25 { _ = try Self.record(writer, owner, data: #"{"writer":\#(index),"n":\#(n)}"#) }
            } catch {
                failures.append("\(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let events = stream.events(100, timeout: 30)
        let ids = events.map(\.id)
        #expect(ids.count == 100)
        #expect(ids == ids.sorted() && Set(ids).count == ids.count, "out of order or repeated: \(ids)")
        #expect(ids == (try Self.listedIDs(client, owner, after: start)), "the stream and the list disagree")
        #expect(!ids.contains(start), "an event from before the stream opened (record \(before))")
    }

    @Test("Resume after a dropped connection with Last-Event-ID or after=: nothing lost, nothing twice")
    func resume() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        for n in 0..<3 { _ = try Self.record(client, owner, data: #"{"n":\#(n)}"#) }
        let all = try Self.listedIDs(client, owner)
        #expect(all.count == 3)
        // after= the first: the backlog, then what follows.
        let first = try Self.open(server, [owner.bearer], query: "?after=evt_\(all[0])")
        for n in 3..<7 { _ = try Self.record(client, owner, data: #"{"n":\#(n)}"#) }
        let seen = first.events(4, timeout: 10).map(\.id)
        #expect(seen.count == 4 && seen.first == all[1])
        first.close()
        for n in 7..<10 { _ = try Self.record(client, owner, data: #"{"n":\#(n)}"#) }
        let expected = try Self.listedIDs(client, owner, after: seen.last ?? 0)
        #expect(expected.count == 5)
        // Last-Event-ID (what EventSource sends), even when the URL still carries an older after=.
        let resumed = try Self.open(server, [owner.bearer, ("Last-Event-ID", "evt_\(seen.last ?? 0)")],
                                    query: "?after=evt_\(all[0])")
        #expect(resumed.events(5, timeout: 10).map(\.id) == expected)
        #expect(resumed.events(1, timeout: 0.5).isEmpty, "an event twice")
        let again = try Self.open(server, [owner.bearer], query: "?after=\(seen.last ?? 0)")
        #expect(again.events(5, timeout: 10).map(\.id) == expected)
        #expect(again.events(1, timeout: 0.5).isEmpty)
    }

    @Test("Isolation: never another workspace's event; per-permission visibility for a narrowed key; allow-list")
    func isolation() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let stranger = try client.signUp()
        let main = owner.mainWorkspaceID
        let other = try client.createWorkspace(owner, name: "Other")
        let narrowed = try client.createKey(owner, mode: "full", permissions: ["members:read", "workspace:read"])
        let scoped = try client.createKey(owner, mode: "scoped", workspaceIDs: [main])
        let mine = try Self.open(server, [owner.bearer])
        let fanOut = try Self.open(server, [("X-API-Key", scoped.secret)], query: "?workspaces=all")
        let membersOnly = try Self.open(server, [("X-API-Key", narrowed.secret)])
        expectErrorStream(try Self.open(server, [("X-API-Key", scoped.secret), ("X-Workspace-ID", String(other))]),
                          403, "CROSS_TENANT_WORKSPACE")
        expectErrorStream(try Self.open(server, [owner.bearer, ("X-Workspace-ID", String(stranger.mainWorkspaceID))]),
                          403, "CROSS_TENANT_WORKSPACE")
        _ = try Self.record(client, stranger, data: #"{"secret":"stranger"}"#)
        _ = try Self.record(client, owner, other, data: #"{"secret":"other"}"#)
        _ = try Self.record(client, owner, data: #"{"visible":true}"#)
        let guest = try client.signUp()
        _ = try client.join(guest, workspaceID: main, owner: owner, role: "viewer")
        let expectedTypes = ["record.created", "member.added"]
        #expect(mine.events(2, timeout: 10).map(\.type) == expectedTypes)
        #expect(fanOut.events(2, timeout: 10).map(\.type) == expectedTypes)
        let members = membersOnly.events(1, timeout: 10)
        #expect(members.map(\.type) == ["member.added"], "a key without content:read saw a record event")
        for stream in [mine, fanOut, membersOnly] {
            for item in stream.drain(timeout: 0.5) {
                if case .event(_, _, let data) = item { Issue.record("unexpected event: \(data)") }
            }
        }
    }

    @Test("A revoked key's stream ends (final chunk), and so do a removed member's and a logged-out session's")
    func revocationEndsStreams() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let main = owner.mainWorkspaceID
        let key = try client.createKey(owner, mode: "full")
        let guest = try client.signUp()
        let memberID = try client.join(guest, workspaceID: main, owner: owner, role: "viewer")
        let session = try #require(try client.login(owner.email, owner.password).json["access_token"]?.stringValue)
        let byKey = try Self.open(server, [("X-API-Key", key.secret)])
        let byGuest = try Self.open(server, [guest.bearer, ("X-Workspace-ID", String(main))])
        let bySession = try Self.open(server, [("Authorization", "Bearer \(session)")])
        let untouched = try Self.open(server, [owner.bearer])

        #expect(try client.request("DELETE", "/v1/api-keys/\(key.id)", headers: [owner.bearer]).status == 204)
        #expect(byKey.waitForClose(timeout: 10) && byKey.ended, "the deleted key's stream goes on")
        #expect(try client.request("DELETE", "/v1/workspaces/\(main)/members/\(memberID)",
                                   headers: [owner.bearer]).status == 204)
        _ = try Self.record(client, owner, data: #"{"after":"removal"}"#)
        #expect(byGuest.waitForClose(timeout: 10) && byGuest.ended, "the removed member's stream goes on")
        let leaked = byGuest.drain(timeout: 0).compactMap { item -> String? in
            if case .event(_, let type, let data) = item, type == "record.created" { return data }
            return nil
        }
        #expect(leaked.isEmpty, "the removed member got an event after the removal: \(leaked)")
        #expect(try client.request("POST", "/v1/auth/logout",
                                   headers: [("Authorization", "Bearer \(session)")]).status == 204)
        #expect(bySession.waitForClose(timeout: 10) && bySession.ended, "the logged-out session's stream goes on")
        // The owner's own stream is not affected by the others' changes.
        #expect(untouched.events(2, timeout: 10).map(\.type) == ["member.removed", "record.created"])
        #expect(!untouched.closed)
    }

    @Test("A narrowed key's and a deleted workspace's streams end; a role change keeping what one reads does not")
    func rightsChangesEndStreams() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let main = owner.mainWorkspaceID
        let other = try client.createWorkspace(owner, name: "Doomed")
        let key = try client.createKey(owner, mode: "full")
        let guest = try client.signUp()
        let memberID = try client.join(guest, workspaceID: main, owner: owner, role: "viewer")
        let byKey = try Self.open(server, [("X-API-Key", key.secret)])
        let inDoomed = try Self.open(server, [owner.bearer, ("X-Workspace-ID", String(other))])
        let byGuest = try Self.open(server, [guest.bearer, ("X-Workspace-ID", String(main))])
        #expect(try client.request("PUT", "/v1/api-keys/\(key.id)", headers: [owner.bearer],
                                   body: #"{"name":"k","mode":"full","permissions":["members:read"]}"#).status == 200)
        #expect(byKey.waitForClose(timeout: 10) && byKey.ended, "the narrowed key's stream goes on")
        #expect(try client.request("DELETE", "/v1/workspaces/\(other)", headers: [owner.bearer]).status == 204)
        #expect(inDoomed.waitForClose(timeout: 10) && inDoomed.ended, "the deleted workspace's stream goes on")
        // viewer → editor: the guest still reads the same events, so its stream goes on.
        #expect(try client.request("PATCH", "/v1/workspaces/\(main)/members/\(memberID)", headers: [owner.bearer],
                                   body: #"{"role":"editor"}"#).status == 200)
        _ = try Self.record(client, owner)
        #expect(byGuest.events(2, timeout: 10).map(\.type) == ["member.role_changed", "record.created"])
        #expect(!byGuest.closed)
    }

    @Test("A key that expires ends its stream before the next event, not at the next heartbeat")
    func expiringKeyEndsStream() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let created = try client.request("POST", "/v1/api-keys", headers: [owner.bearer],
                                         body: #"{"name":"brief","mode":"full","expires_at":"\#(timestamp(secondsFromNow: 3))"}"#)
        let secret = try #require(created.json["secret"]?.stringValue, "\(created.text)")
        let stream = try Self.open(server, [("X-API-Key", secret)])
        _ = try Self.record(client, owner, data: #"{"before":"expiry"}"#)
        #expect(stream.events(1, timeout: 10).count == 1)
        usleep(3_500_000)
        _ = try Self.record(client, owner, data: #"{"after":"expiry"}"#)
        // The default heartbeat is 15 s away: the event itself must trigger the re-validation.
        #expect(stream.waitForClose(timeout: 5) && stream.ended, "the expired key's stream goes on")
        let leaked = stream.drain(timeout: 0).filter { if case .event = $0 { return true } else { return false } }
        #expect(leaked.isEmpty, "an event after the key expired: \(leaked)")
    }

    @Test("Streams count against --max-connections")
    func streamsCountAsConnections() throws {
        let server = try TestServer(["--max-connections", "3"])
        let client = try server.client()
        let owner = try client.signUp()
        let streams = try (0..<2).map { _ in try Self.open(server, [owner.bearer]) }
        #expect(streams.allSatisfy { $0.status == 200 })
        // The test client and two streams hold the three connections: the next one is refused.
        let refused = try WireSocket(port: server.port)
        try refused.send(Wire.request("GET", "/healthz"))
        let response = try refused.readResponse()
        #expect(response.response.status == 503)
    }

    @Test("An HTTP/1.0 client gets a close-delimited stream (no chunked framing)")
    func http10Stream() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let socket = try WireSocket(port: server.port, receiveTimeout: 5)
        try socket.send("GET /v1/events/stream HTTP/1.0\r\nAuthorization: Bearer \(owner.accessToken)\r\n\r\n")
        var text = ""
        let deadline = Date().addingTimeInterval(10)
        while !text.contains(": stream open") && Date() < deadline { text += socket.readUntilClose(timeout: 0.2).text }
        _ = try Self.record(client, owner)
        while !text.contains("event: record.created") && Date() < deadline {
            text += socket.readUntilClose(timeout: 0.2).text
        }
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(text)")
        #expect(!text.contains("Transfer-Encoding") && text.contains("Connection: close"), "\(text)")
        #expect(text.contains("\r\n\r\n: stream open\n\n"), "\(text)")
        #expect(text.contains("\nevent: record.created\ndata: {"), "\(text)")
    }

    /// Events of about 2 KB each for the slow-consumer test: about 800 KB, several times what a
    /// stalled client can hold (64 KiB queued, the socket's send buffer, its receive buffer),
    /// while a reading client has 64 KiB of slack even on a loaded machine.
    static let flood = 400

    @Test("A client that stops reading is dropped once its buffer fills; the others go on; it resumes")
    func slowConsumerDropped() throws {
        let server = try TestServer(["--stream-buffer-bytes", "65536"])
        let client = try server.client()
        let owner = try client.signUp()
        _ = try Self.record(client, owner)
        let baseline = try #require(try Self.listedIDs(client, owner).last)
        let stalled = try Self.open(server, [owner.bearer], receiveBuffer: 4096)
        let reader = try Self.open(server, [owner.bearer])
        let filler = String(repeating: "x", count: 2000)
        let port = server.port
        let created = Collected<Int64>()
        let written = DispatchSemaphore(value: 0)
        let caughtUp = DispatchSemaphore(value: 0)
        let batch = 50
        Thread.detachNewThread {
            let writer = try? HTTPTestClient(port: port)
            for n in 0..<Self.flood {
                if let writer, let id = try? Self.record(writer, owner, data: #"{"n":\#(n),"pad":"\#(filler)"}"#) {
                    created.append(id)
                }
                if (n + 1) % batch == 0 {
                    written.signal()
                    caughtUp.wait()
                }
            }
        }
        // The reading client takes each batch before the next is written (so even a starved test
        // process stays inside the kernel's buffers); the stalled one never reads.
        var read: [Int64] = []
        for _ in 0..<(Self.flood / batch) {
            written.wait()
            read += reader.events(batch, timeout: 30).map(\.id)
            caughtUp.signal()
        }
        #expect(created.all.count == Self.flood)
        #expect(read.count == Self.flood && read == read.sorted() && Set(read).count == read.count,
                "a reading client lost events")
        #expect(stalled.waitForClose(timeout: 15), "the stalled client was not dropped")
        #expect(!stalled.ended, "a dropped client must not see a clean end")
        let got = stalled.drain(timeout: 0).compactMap { item -> Int64? in
            if case .event(let id, _, _) = item { return id }
            return nil
        }
        #expect(got.count < Self.flood)
        // It resumes where it was cut off and gets the rest, once each.
        let resumed = try Self.open(server, [owner.bearer, ("Last-Event-ID", "evt_\(got.last ?? baseline)")])
        let rest = resumed.events(Self.flood - got.count, timeout: 30).map(\.id)
        #expect(got + rest == read, "lost or repeated across the drop")
    }

    @Test("Heartbeats at --event-heartbeat-ms; a stream is never closed by the idle timeout")
    func heartbeats() throws {
        let server = try TestServer(["--event-heartbeat-ms", "300", "--idle-timeout", "1"])
        let client = try server.client()
        let owner = try client.signUp()
        let stream = try Self.open(server, [owner.bearer])
        let items = stream.drain(timeout: 2.6)
        let beats = items.filter { $0 == .comment("keep-alive") }.count
        #expect(beats >= 5 && beats <= 10, "\(beats) heartbeats in 2.6 s at 300 ms")
        #expect(!stream.closed && !stream.ended, "the stream was closed while idle")
    }

    @Test("SIGTERM ends open streams with the final chunk and the server exits 0")
    func shutdown() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let streams = try (0..<3).map { _ in try Self.open(server, [owner.bearer]) }
        #expect(server.stop() == 0)
        for stream in streams {
            #expect(stream.waitForClose(timeout: 10) && stream.ended, "no final chunk before the close")
        }
    }

    @Test("A position past the retention purge is 410 CURSOR_EXPIRED before the stream starts")
    func retention() throws {
        let server = try TestServer(["--event-retention", "1"])
        let client = try server.client()
        let owner = try client.signUp()
        for n in 0..<3 { _ = try Self.record(client, owner, data: #"{"n":\#(n)}"#) }
        let ids = try Self.listedIDs(client, owner)
        var purged = false
        for _ in 0..<40 where !purged {
            usleep(250_000)
            purged = try client.request("GET", "/v1/events", headers: [owner.bearer]).json["data"]?.arrayValue?
                .isEmpty == true
        }
        #expect(purged, "the purge did not run")
        _ = try Self.record(client, owner)
        expectErrorStream(try Self.open(server, [owner.bearer], query: "?after=evt_\(ids[0])"), 410, "CURSOR_EXPIRED")
        expectErrorStream(try Self.open(server, [owner.bearer, ("Last-Event-ID", "evt_\(ids[0])")]), 410,
                          "CURSOR_EXPIRED")
        let fresh = try Self.open(server, [owner.bearer], query: "?after=\(ids[2])")
        #expect(fresh.status == 200 && fresh.events(1, timeout: 10).count == 1)
    }
}

/// The stream was refused with `status` and the contract's error `code`.
func expectErrorStream(_ stream: EventStreamClient, _ status: Int, _ code: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(stream.status == status, "\(stream.errorBody)", sourceLocation: sourceLocation)
    #expect(stream.errorBody.contains("\"\(code)\""), "\(stream.errorBody)", sourceLocation: sourceLocation)
}
