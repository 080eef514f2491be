/// One connection's phase and the deadline that phase runs against, driven by what the event
/// loop sees happen (bytes in, the parser's state, a handler taking or giving back the
/// request, output blocked or flushed) and by the time each event happened.
///
/// It exists so that the timeout rules of server.md are one small value that can be tested
/// alone with a fake clock instead of by sleeping against a live server: time is never read
/// here, every event and `expiry(at:)` is given `now` (the loop passes its clock's reading
/// for the turn; tests pass a fake clock's). The rules:
///
/// - a request head must be complete within the header timeout of its **first byte**, however
///   slowly its lines arrive (a slowloris sending a complete header line every few seconds is
///   answered `408` and closed like one that stops mid-line);
/// - a body must be complete within the body timeout of the moment it was first waited for;
/// - an idle keep-alive connection closes silently after the idle timeout;
/// - while a handler has the request, no timeout runs (the handler's answer ends it);
/// - output the client does not take closes the connection after the idle timeout without a
///   byte going out;
/// - a streaming response (Server-Sent Events) is never idle, however long nothing is sent,
///   but its output is held to the stalled-output rule like any other;
/// - a lingering close ends at its drain deadline.
struct ConnectionStateMachine: Equatable {
    /// What the connection is waiting for.
    enum Phase: Equatable {
        /// No byte of a next request yet (keep-alive).
        case idle
        /// Part of a request head is in, its blank line is not.
        case readingHead
        /// The head is in, part of the body is not.
        case readingBody
        /// A handler on a worker has the request.
        case inHandler
        /// A streaming response is open; its body comes when there is something to send.
        case streaming
        /// Response bytes wait for the client to make room in the socket.
        case writing
        /// Our side is shut; the client's remaining input is read and dropped until EOF or the
        /// drain deadline (lingering close), so it sees the last response instead of a reset.
        case draining
    }

    /// What `expiry(at:)` tells the loop to do.
    enum Expiry: Equatable {
        case none
        /// The head or body took too long: answer `408`, then close.
        case requestTimeout
        /// Close without an answer (idle keep-alive, stalled output, drain over).
        case close
    }

    /// Where the current request is on the wire, ignoring handler, output and draining.
    private var reading: Phase = .idle
    private var handlerRunning = false
    private var streamOpen = false
    private var outputBlocked = false
    private var drainDeadline: UInt64?
    /// Monotonic nanoseconds: the last byte in or out; the start of the current head and body;
    /// the last byte out while output was blocked.
    private(set) var lastActivity: UInt64
    private(set) var headStartedAt: UInt64 = 0
    private(set) var bodyStartedAt: UInt64 = 0
    private var lastOutputProgress: UInt64 = 0

    init(now: UInt64) {
        lastActivity = now
    }

    /// The phase that decides the deadline, most urgent first.
    var phase: Phase {
        if drainDeadline != nil { return .draining }
        if handlerRunning { return .inHandler }
        if outputBlocked { return .writing }
        if streamOpen { return .streaming }
        return reading
    }

    var isDraining: Bool { drainDeadline != nil }
    var isInHandler: Bool { handlerRunning }
    var isStreaming: Bool { streamOpen }

    // MARK: Events

    /// Bytes arrived. The first byte after an idle wait starts a head (and its timeout).
    mutating func received(at now: UInt64) {
        lastActivity = now
        if reading == .idle && !handlerRunning { startHead(at: now) }
    }

    /// The parser stopped for more bytes in `parserPhase`; a head or body that starts here
    /// starts its timeout now (a pipelined head whose bytes came with the previous request
    /// starts when that request is done). A head already running keeps its first byte's time.
    mutating func parserWaiting(in parserPhase: RequestParser.Phase, at now: UInt64) {
        switch parserPhase {
        case .idle:
            reading = .idle
        case .head:
            if reading != .readingHead { startHead(at: now) }
        case .body:
            if reading != .readingBody {
                reading = .readingBody
                bodyStartedAt = now
            }
        }
    }

    /// A request was complete and answered on the loop, or handed to a worker (`toHandler`).
    mutating func requestComplete(toHandler: Bool) {
        reading = .idle
        handlerRunning = toHandler
    }

    /// The handler's answer is back; reading resumes.
    mutating func handlerFinished(at now: UInt64) {
        handlerRunning = false
        lastActivity = now
    }

    /// A streaming response's head went out: the connection is busy until it ends.
    mutating func streamStarted(at now: UInt64) {
        streamOpen = true
        lastActivity = now
    }

    /// The streaming response is over (its final chunk is queued, or it was dropped).
    mutating func streamEnded(at now: UInt64) {
        streamOpen = false
        lastActivity = now
    }

    /// A write to the socket took `count` bytes; `outputLeft` when some are still waiting for
    /// room. Output that stops moving starts the stalled-write clock at its last progress.
    mutating func wrote(_ count: Int, outputLeft: Bool, at now: UInt64) {
        if count > 0 {
            lastActivity = now
            lastOutputProgress = now
        } else if !outputBlocked {
            lastOutputProgress = now
        }
        outputBlocked = outputLeft
    }

    /// Our side is shut; drain the client's input until `now + duration` at the latest.
    mutating func startDraining(at now: UInt64, for duration: UInt64) {
        drainDeadline = now &+ duration
    }

    // MARK: Deadlines

    /// What is due at `now` under `timeouts`.
    func expiry(at now: UInt64, timeouts: ConnectionTimeouts) -> Expiry {
        switch phase {
        case .draining:
            return now >= (drainDeadline ?? now) ? .close : .none
        case .inHandler, .streaming:
            return .none
        case .writing:
            return now &- lastOutputProgress > timeouts.idle ? .close : .none
        case .readingBody:
            if now &- bodyStartedAt > timeouts.body { return .requestTimeout }
        case .readingHead:
            if now &- headStartedAt > timeouts.header { return .requestTimeout }
        case .idle:
            break
        }
        return now &- lastActivity > timeouts.idle ? .close : .none
    }

    private mutating func startHead(at now: UInt64) {
        reading = .readingHead
        headStartedAt = now
    }
}
