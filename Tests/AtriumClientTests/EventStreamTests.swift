@testable import AtriumClient
import AtriumTestSupport
import Foundation
import Glibc
import Testing

/// The SSE parser, byte by byte.
@Suite struct ServerSentEventParserTests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let chunks: [String]
        let events: [ServerSentEvent]
        var lastEventID: String?
        var retry: Duration?
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "the server's shape", chunks: [": stream open\n\nid: evt_1\nevent: record.created\ndata: {}\n\n"],
             events: [ServerSentEvent(id: "evt_1", event: "record.created", data: "{}")], lastEventID: "evt_1"),
        Case(name: "multi-line data joins with LF", chunks: ["data: a\ndata: b\ndata:\ndata:  c\n\n"],
             events: [ServerSentEvent(id: nil, data: "a\nb\n\n c")]),
        Case(name: "CRLF and lone CR end lines", chunks: ["id: 1\r\ndata: x\r\n\r\nid: 2\rdata: y\r\r"],
             events: [ServerSentEvent(id: "1", data: "x"), ServerSentEvent(id: "2", data: "y")], lastEventID: "2"),
        Case(name: "CR and LF split across chunks is one end of line", chunks: ["data: x\r", "\n\r", "\n"],
             events: [ServerSentEvent(id: nil, data: "x")]),
        Case(name: "split inside a field name and a value", chunks: ["da", "ta: he", "llo\n", "\n"],
             events: [ServerSentEvent(id: nil, data: "hello")]),
        Case(name: "heartbeats and comments are ignored", chunks: [": keep-alive\n\n", ":x\n\n", ": keep-alive\n\n"],
             events: []),
        Case(name: "retry: digits only", chunks: ["retry: 2500\n\nretry: 1x\n\nretry: -5\n\n"], events: [],
             retry: .milliseconds(2500)),
        Case(name: "no data, no dispatch; its id still counts", chunks: ["id: evt_9\n\n"], events: [],
             lastEventID: "evt_9"),
        Case(name: "an id cut before its blank line does not count", chunks: ["id: evt_1\ndata: a\n\nid: evt_2\ndata: b\n"],
             events: [ServerSentEvent(id: "evt_1", data: "a")], lastEventID: "evt_1"),
        Case(name: "an empty id clears it; an id with NUL is ignored",
             chunks: ["id: a\ndata: 1\n\nid\ndata: 2\n\nid: b\u{0}c\ndata: 3\n\n"],
             events: [ServerSentEvent(id: "a", data: "1"), ServerSentEvent(id: nil, data: "2"),
                      ServerSentEvent(id: nil, data: "3")]),
        Case(name: "a field without colon, an unknown field, no space after the colon",
             chunks: ["data\nfoo: bar\nevent:x\ndata:y\n\n"], events: [ServerSentEvent(id: nil, event: "x", data: "\ny")]),
        Case(name: "a leading BOM is skipped", chunks: ["\u{FEFF}data: z\n\n"], events: [ServerSentEvent(id: nil, data: "z")]),
        Case(name: "an unfinished event is not dispatched", chunks: ["data: half\n"], events: []),
        Case(name: "a UTF-8 sequence split across chunks", chunks: ["data: \u{E9}", "t\u{E9}\n\n"],
             events: [ServerSentEvent(id: nil, data: "\u{E9}t\u{E9}")]),
    ]

    @Test(arguments: cases) func parses(_ testCase: Case) {
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        for chunk in testCase.chunks { events += parser.feed(Array(chunk.utf8)) }
        #expect(events == testCase.events)
        #expect(parser.lastEventID == testCase.lastEventID)
        #expect(parser.retry == testCase.retry)
    }

    @Test(arguments: cases) func parsesOneByteAtATime(_ testCase: Case) {
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        for byte in testCase.chunks.joined().utf8 { events += parser.feed([byte]) }
        #expect(events == testCase.events)
    }
}

/// `client.events.stream()` against a real server, through a proxy the test can cut, mute or
/// make refuse connections.
@Suite struct EventStreamLiveTests {
    static let fast = EventStreamPolicy(initialDelay: .milliseconds(100), maxDelay: .milliseconds(400),
                                        idleTimeout: .seconds(5))

    /// Iterates `stream` on its own task, collecting events; `take(n)` waits for the first n.
    final class Collector: @unchecked Sendable {
        // @unchecked Sendable: `events` and `error` only under `lock`.
        private let lock = NSLock()
        private var events: [Event] = []
        private var error: (any Error)?
        private var done = false
        var task: Task<Void, Never>!

        init(_ stream: EventStream) {
            task = Task { [self] in
                do {
                    for try await event in stream { lock.withLock { events.append(event) } }
                } catch {
                    lock.withLock { self.error = error }
                }
                lock.withLock { done = true }
            }
        }

        var snapshot: (events: [Event], error: (any Error)?, done: Bool) { lock.withLock { (events, error, done) } }

        func wait(timeout: Duration = .seconds(20), until: ([Event], (any Error)?, Bool) -> Bool) async throws {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let (events, error, done) = snapshot
                if until(events, error, done) { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw Failure("timed out; have \(snapshot.events.count) events, error \(String(describing: snapshot.error))")
        }

        func take(_ count: Int) async throws -> [Event] {
            try await wait { events, error, _ in events.count >= count || error != nil }
            return snapshot.events
        }
    }

    static func recordIDs(_ events: [Event]) -> [Int64] {
        events.compactMap { if case .number(let n)? = $0.data["id"] { Int64(n) } else { nil } }
    }

    @Test func recordsCreatedAfterTheStreamOpensArriveInOrder() async throws {
        let server = try LiveServer()
        let (client, _) = try await server.signUp("stream")
        let collector = Collector(client.events.stream(types: ["record.*"], policy: Self.fast))
        defer { collector.task.cancel() }
        try await Task.sleep(for: .milliseconds(300))  // the stream starts with what commits after it opens
        var created: [Int64] = []
        for n in 0..<5 { created.append(try await client.records.create(in: "notes", data: ["n": .number(Double(n))]).id) }
        let events = try await collector.take(5)
        #expect(events.map(\.type) == Array(repeating: "record.created", count: 5))
        #expect(Self.recordIDs(events) == created)
        #expect(Set(events.map(\.id)).count == 5)
    }

    @Test func aCutConnectionResumesWithNoLossAndNoDuplicate() async throws {
        let server = try LiveServer()
        let proxy = try CuttableProxy(to: server.port)
        defer { proxy.stop() }
        let (owner, _) = try await server.signUp("resume")
        let viaProxy = AtriumClient(AtriumConfiguration(
            baseURL: URL(string: "http://127.0.0.1:\(proxy.port)")!, credential: owner.configuration.credential))
        // Start after a first event, so the whole sequence is known.
        let first = try await owner.records.create(in: "n", data: ["n": 0])
        let firstEvent = try #require(try await owner.events.listEvents().first(1).first)
        let collector = Collector(viaProxy.events.stream(after: firstEvent.id, policy: Self.fast))
        defer { collector.task.cancel() }
        var created = [first.id]
        for n in 1..<4 { created.append(try await owner.records.create(in: "n", data: ["n": .number(Double(n))]).id) }
        _ = try await collector.take(3)
        // Cut it mid-stream, keep it down while more is written, then let it back.
        proxy.refusing = true
        proxy.cut()
        for n in 4..<10 { created.append(try await owner.records.create(in: "n", data: ["n": .number(Double(n))]).id) }
        try await Task.sleep(for: .milliseconds(500))
        proxy.refusing = false
        for n in 10..<12 { created.append(try await owner.records.create(in: "n", data: ["n": .number(Double(n))]).id) }
        let events = try await collector.take(11)
        #expect(Self.recordIDs(events) == Array(created.dropFirst()))
        #expect(Set(events.map(\.id)).count == events.count)
        #expect(proxy.accepted >= 2)
        #expect(collector.snapshot.error == nil)
    }

    @Test func aSilentConnectionIsTakenForDeadAndReopened() async throws {
        let server = try LiveServer(["--event-heartbeat-ms", "200"])
        let proxy = try CuttableProxy(to: server.port)
        defer { proxy.stop() }
        let (owner, _) = try await server.signUp("idle")
        let viaProxy = AtriumClient(AtriumConfiguration(
            baseURL: URL(string: "http://127.0.0.1:\(proxy.port)")!, credential: owner.configuration.credential))
        let policy = EventStreamPolicy(initialDelay: .milliseconds(100), maxDelay: .milliseconds(200),
                                       idleTimeout: .milliseconds(1500))
        let collector = Collector(viaProxy.events.stream(policy: policy))
        defer { collector.task.cancel() }
        // Heartbeats every 200 ms keep a healthy connection alive well past the idle timeout.
        try await Task.sleep(for: .milliseconds(300))
        let a = try await owner.records.create(in: "n", data: [:])
        _ = try await collector.take(1)
        try await Task.sleep(for: .seconds(2))
        #expect(proxy.accepted == 1)
        // Now the proxy swallows every byte: no heartbeat reaches the client, which reconnects.
        proxy.muted = true
        let b = try await owner.records.create(in: "n", data: [:])
        try await Task.sleep(for: .milliseconds(300))
        proxy.muted = false  // new connections pass bytes again; the muted one stays silent
        let events = try await collector.take(2)
        #expect(Self.recordIDs(events) == [a.id, b.id])
        #expect(proxy.accepted == 2)
    }

    @Test func aRevokedKeyEndsTheSequenceWithA401AndNoRetry() async throws {
        let server = try LiveServer()
        let proxy = try CuttableProxy(to: server.port)
        defer { proxy.stop() }
        let (owner, _) = try await server.signUp("revoke")
        let key = try await owner.apiKeys.createAPIKey(APIKeyCreate(name: "k", mode: "full"))
        let viaProxy = AtriumClient(baseURL: URL(string: "http://127.0.0.1:\(proxy.port)")!, apiKey: key.secret)
        let collector = Collector(viaProxy.events.stream(policy: Self.fast))
        defer { collector.task.cancel() }
        try await Task.sleep(for: .milliseconds(300))
        _ = try await owner.records.create(in: "n", data: [:])
        _ = try await collector.take(1)
        try await owner.apiKeys.deleteAPIKey(keyId: key.id)  // the server ends the stream; the reconnect is refused
        try await collector.wait { _, _, done in done }
        let error = try #require(collector.snapshot.error as? AtriumError, "\(String(describing: collector.snapshot.error))")
        #expect(error.status == 401)
        try await Task.sleep(for: .seconds(1))
        #expect(proxy.accepted == 2, "one reconnection, refused, and no more")
    }

    @Test func aPurgedCursorThrowsCursorExpired() async throws {
        let server = try LiveServer(["--event-retention", "1"])
        let (owner, _) = try await server.signUp("expired")
        for _ in 0..<3 { _ = try await owner.records.create(in: "n", data: [:]) }
        let oldest = try #require(try await owner.events.listEvents().all().last)
        var purged = false
        for _ in 0..<40 where !purged {
            try await Task.sleep(for: .milliseconds(250))
            purged = try await owner.events.listEvents().first(1).isEmpty
        }
        #expect(purged, "the purge did not run")
        _ = try await owner.records.create(in: "n", data: [:])
        var iterator = owner.events.stream(after: oldest.id, policy: Self.fast).makeAsyncIterator()
        await #expect { _ = try await iterator.next() } throws: { error in
            (error as? AtriumError)?.status == 410 && (error as? AtriumError)?.code == .cursorExpired
        }
    }

    @Test func cancellingTheIteratingTaskEndsTheSequenceAndClosesTheConnection() async throws {
        let server = try LiveServer()
        let proxy = try CuttableProxy(to: server.port)
        defer { proxy.stop() }
        let (owner, _) = try await server.signUp("cancel")
        let viaProxy = AtriumClient(AtriumConfiguration(
            baseURL: URL(string: "http://127.0.0.1:\(proxy.port)")!, credential: owner.configuration.credential))
        let collector = Collector(viaProxy.events.stream(policy: Self.fast))
        try await Task.sleep(for: .milliseconds(300))
        _ = try await owner.records.create(in: "n", data: [:])
        _ = try await collector.take(1)
        collector.task.cancel()
        try await collector.wait(timeout: .seconds(5)) { _, _, done in done }
        #expect(collector.snapshot.error == nil)
        // The client closed its side (the server's stream ends with it), and did not reconnect.
        try await Task.sleep(for: .seconds(1))
        #expect(proxy.closedByClient == 1)
        #expect(proxy.accepted == 1)

        // Breaking out of the loop ends it too; many streams stopped at random moments do not crash.
        for round in 0..<30 {
            let stream = viaProxy.events.stream(policy: Self.fast)
            let task = Task {
                for try await _ in stream { break }
            }
            if round % 3 == 0 { _ = try await owner.records.create(in: "n", data: [:]) }
            try await Task.sleep(for: .milliseconds(Int64.random(in: 0...30)))
            task.cancel()
            _ = await task.result
        }
    }
}

/// A TCP proxy to the server that a test can cut (close every open connection), mute (swallow
/// what the server sends) or make refuse new connections.
final class CuttableProxy: @unchecked Sendable {
    // @unchecked Sendable: the mutable fields are read and written only under `lock`.
    private let listener: Listener
    private let upstreamPort: Int
    private let lock = NSLock()
    private var generation = 0
    private var _refusing = false
    private var _muted = false
    private var stopped = false
    private var _accepted = 0
    private var _closedByClient = 0

    var port: Int { listener.port }
    var accepted: Int { lock.withLock { _accepted } }
    var closedByClient: Int { lock.withLock { _closedByClient } }
    var refusing: Bool {
        get { lock.withLock { _refusing } }
        set { lock.withLock { _refusing = newValue } }
    }
    /// Connections accepted while muted swallow what the server sends for their whole life.
    var muted: Bool {
        get { lock.withLock { _muted } }
        set { lock.withLock { _muted = newValue } }
    }

    init(to upstreamPort: Int) throws {
        listener = try Listener()
        self.upstreamPort = upstreamPort
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    func cut() { lock.withLock { generation += 1 } }
    func stop() { lock.withLock { stopped = true; generation += 1 } }

    private func acceptLoop() {
        while !lock.withLock({ stopped }) {
            guard let client = listener.accept(milliseconds: 50) else { continue }
            if refusing {
                close(client)
                continue
            }
            let upstream = Self.connect(port: upstreamPort)
            guard upstream >= 0 else { close(client); continue }
            let generation = lock.withLock { _accepted += 1; return self.generation }
            Thread.detachNewThread { [self] in pump(client: client, upstream: upstream, generation: generation) }
        }
    }

    private func pump(client: Int32, upstream: Int32, generation: Int) {
        defer {
            shutdown(client, Int32(SHUT_RDWR))
            close(client)
            close(upstream)
        }
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: upstream, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var silent = false
        while true {
            let (current, mute) = lock.withLock { (self.generation, _muted) }
            if current != generation { return }
            if mute { silent = true }
            guard poll(&fds, 2, 50) >= 0 else { return }
            if fds[0].revents != 0 {
                let n = read(client, &buffer, buffer.count)
                if n <= 0 {
                    lock.withLock { _closedByClient += 1 }
                    return
                }
                guard Self.writeAll(upstream, buffer, n) else { return }
            }
            if fds[1].revents != 0 {
                let n = read(upstream, &buffer, buffer.count)
                if n <= 0 { return }
                if lock.withLock({ _muted }) { silent = true }  // set while this thread polled
                if !silent, !Self.writeAll(client, buffer, n) { return }
            }
        }
    }

    private static func writeAll(_ fd: Int32, _ buffer: [UInt8], _ count: Int) -> Bool {
        var sent = 0
        while sent < count {
            let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + sent, count - sent) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    private static func connect(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 { close(fd); return -1 }
        return fd
    }
}
