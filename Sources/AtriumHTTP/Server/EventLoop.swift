import AtriumSystem
import CAtriumSystem
import Glibc
import Synchronization

/// One epoll loop on its own thread: accepts connections, reads and parses requests, runs
/// non-blocking handlers inline, hands blocking ones to the worker pool, and writes
/// responses back in request order.
///
/// The loop's jobs live in files of their own: accepting (`EventLoop+Accept`), reading and
/// parsing (`EventLoop+Read`), routing and handing requests out (`EventLoop+Dispatch`),
/// writing (`EventLoop+Write`), timeouts and closing (`EventLoop+Close`). Each connection's
/// phase and deadlines are a `ConnectionStateMachine`; access-log lines are an `AccessLog`.
/// This file holds the state they share, the cross-thread entry points and the loop itself.
final class EventLoop: @unchecked Sendable {
    // @unchecked Sendable: the connection table, buffers and clocks are confined to the
    // loop thread (`run()` and what it calls). Other threads reach the loop only through
    // `inbox` (a Mutex) and `wake()` (an eventfd write), and `shutdownRequested`/`stopped`
    // are atomics.
    static let listenToken: UInt64 = .max
    static let wakeToken: UInt64 = .max - 1
    static let scratchSize = 64 * 1024
    static let nanosPerSecond: UInt64 = 1_000_000_000
    /// An `epoll_wait` that took longer than this (50 µs) slept rather than found events ready.
    private static let sleptThreshold: UInt64 = 50_000

    let index: Int
    let shared: ServerShared
    let epollFD: Int32
    private let wakeFD: Int32
    /// This loop's own listening socket.
    let listenFD: Int32
    private let inbox = Mutex<[Completion]>([])
    private let shutdownRequested = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    /// Set by the loop once it no longer watches the listening socket.
    let stoppedAccepting = Atomic<Bool>(false)

    var connections: [Connection?] = []
    var generationCounter: UInt32 = 0
    let scratch: UnsafeMutableRawBufferPointer
    var writeBuffer: [UInt8] = []
    var accessLog: AccessLog
    var requestIDs: RequestIdentifiers
    /// The loop's clock reading for this turn (monotonic ns): every event of the turn happened
    /// "now" for the connection state machines.
    var now: UInt64 = 0
    private var lastTick: UInt64 = 0
    var dateLine: [UInt8] = []
    let timeouts: ConnectionTimeouts
    /// Whether the listening socket is in the epoll set.
    var listening = true
    /// Set while accepting rests after running out of descriptors: when to try again.
    var acceptResumesAt: UInt64?
    var shuttingDown = false
    /// Jobs dispatched during this turn of the loop, handed to their pools together at its
    /// end: one lock and at most one wake-up per idle worker, instead of one per request.
    var queuedJobs: [QueuedJob] = []

    struct QueuedJob {
        let pool: WorkerPool
        /// The lane it waits in (`TenantKey`).
        let tenant: UInt64
        let fd: Int32
        let generation: UInt32
        let responder: HTTPResponder
        let work: @Sendable () -> Void
    }

    init(index: Int, shared: ServerShared) throws(HTTPServerError) {
        self.index = index
        self.shared = shared
        do {
            epollFD = try Epoll.create()
        } catch {
            throw HTTPServerError(operation: error.call, errno: error.errno)
        }
        wakeFD = atrium_eventfd()
        guard wakeFD >= 0 else { throw HTTPServerError(operation: "eventfd", errno: errno) }
        scratch = .allocate(byteCount: Self.scratchSize, alignment: 16)
        requestIDs = RequestIdentifiers(loopIndex: index)
        accessLog = AccessLog(enabled: shared.configuration.accessLog, sink: shared.logSink)
        timeouts = ConnectionTimeouts(shared.configuration)
        writeBuffer.reserveCapacity(Self.scratchSize)
        listenFD = shared.listenFDs[index]
        do {
            try Epoll.add(wakeFD, to: epollFD, events: .readable, token: Self.wakeToken)
            try Epoll.add(listenFD, to: epollFD, events: .readable, token: Self.listenToken)
        } catch {
            throw HTTPServerError(operation: error.call, errno: error.errno)
        }
        refreshDate()
    }

    deinit {
        scratch.deallocate()
        close(epollFD)
        close(wakeFD)
    }

    // MARK: Cross-thread entry points

    /// Hands a finished response back to this loop (from a worker thread).
    func complete(_ completion: Completion) {
        // Only the completion that finds the inbox empty needs to wake the loop: the loop
        // drains the eventfd before it takes the inbox, so later ones ride on that wake-up.
        let wasEmpty = inbox.withLock { queued -> Bool in
            let empty = queued.isEmpty
            queued.append(completion)
            return empty
        }
        if wasEmpty { wake() }
    }

    /// Stop accepting; close idle connections; close the rest after their response.
    func beginShutdown() {
        shutdownRequested.store(true, ordering: .releasing)
        wake()
    }

    /// Leave the loop and close whatever is still open.
    func stop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    private func wake() { _ = atrium_eventfd_signal(wakeFD) }

    /// The completions workers left since the last wake-up.
    func takeCompletions() -> [Completion] {
        inbox.withLock { queued -> [Completion] in
            let taken = queued
            queued.removeAll(keepingCapacity: true)
            return taken
        }
    }

    // MARK: The loop

    func run() {
        let maxEvents: Int32 = 256
        let tokens = UnsafeMutablePointer<UInt64>.allocate(capacity: Int(maxEvents))
        let events = UnsafeMutablePointer<UInt32>.allocate(capacity: Int(maxEvents))
        defer {
            tokens.deallocate()
            events.deallocate()
        }
        now = atrium_monotonic_ns()
        lastTick = now
        let yieldAfter = UInt64(max(0, shared.configuration.busyYieldMicroseconds)) &* 1000
        var busySince = now
        while !stopRequested.load(ordering: .acquiring) {
            if yieldAfter > 0 && now &- busySince >= yieldAfter {
                // Busy without a pause for a while: let the other runnable threads on this core
                // (workers, the writer, a client on the same host) run before going on, so none
                // of them waits a whole scheduler slice behind this loop (docs/architecture.md).
                sched_yield()
                busySince = atrium_monotonic_ns()
            }
            let waitStarted = atrium_monotonic_ns()
            // While accepting rests (out of descriptors), wake often enough to try again.
            let timeout: Int32 = acceptResumesAt == nil ? 250 : 50
            let count: Int
            do {
                count = try Epoll.wait(epollFD, tokens: tokens, events: events, capacity: maxEvents,
                                       timeoutMilliseconds: timeout)
            } catch {
                break
            }
            now = atrium_monotonic_ns()
            // A wait this long means the loop slept: it has not been hogging the core.
            if now &- waitStarted > Self.sleptThreshold { busySince = now }
            for i in 0..<count {
                handle(token: tokens[i], events: Epoll.Events(rawValue: events[i]))
            }
            submitQueuedJobs()
            if shutdownRequested.load(ordering: .acquiring) && !shuttingDown { enterShutdown() }
            resumeAcceptingIfDue()
            if now &- lastTick >= Self.nanosPerSecond / 2 {
                lastTick = now
                refreshDate()
                expireTimeouts()
            }
            accessLog.flush()
        }
        for case let connection? in connections { closeConnection(connection) }
        accessLog.flush()
    }

    private func handle(token: UInt64, events: Epoll.Events) {
        if token == Self.listenToken {
            acceptConnections()
        } else if token == Self.wakeToken {
            _ = atrium_eventfd_drain(wakeFD)
            drainInbox()
        } else {
            let fd = Int(truncatingIfNeeded: token)
            guard fd < connections.count, let connection = connections[fd] else { return }
            if events.contains(.writable) { writable(connection) }
            if !events.isDisjoint(with: .readReady) { readable(connection) }
        }
    }

    /// The connection on `fd` if it is still the one of `generation`.
    func connection(fd: Int32, generation: UInt32) -> Connection? {
        let slot = Int(fd)
        guard slot >= 0, slot < connections.count, let connection = connections[slot],
              connection.generation == generation else { return nil }
        return connection
    }

    private func refreshDate() {
        var raw = [CChar](repeating: 0, count: 64)
        let length = raw.withUnsafeMutableBufferPointer { atrium_http_date($0.baseAddress, 64) }
        var line = Array("Date: ".utf8)
        line.append(contentsOf: raw[0..<Int(length)].map { UInt8(bitPattern: $0) })
        line.append(contentsOf: "\r\n".utf8)
        dateLine = line
    }
}
