import Testing
@testable import AtriumHTTP

/// The connection state machine's timeouts, driven by a fake clock (no sleeping): the header
/// timeout runs from a head's first byte however its lines arrive, the body timeout from the
/// start of the body, the idle timeout only between requests, none while a handler works.
@Suite("ConnectionStateMachine")
struct ConnectionStateMachineTests {
    /// server.md defaults: header 10 s, body 30 s, idle 60 s.
    static let timeouts = ConnectionTimeouts(
        header: 10_000_000_000, body: 30_000_000_000, idle: 60_000_000_000)

    /// A connection that has just been accepted.
    private func accepted(_ clock: FakeClock) -> ConnectionStateMachine {
        ConnectionStateMachine(now: clock.now)
    }

    /// One read: bytes arrive and the parser stops for more in `parserPhase`.
    private func bytes(_ machine: inout ConnectionStateMachine, _ parserPhase: RequestParser.Phase,
                       _ clock: FakeClock) {
        machine.received(at: clock.now)
        machine.parserWaiting(in: parserPhase, at: clock.now)
    }

    private func expiry(_ machine: ConnectionStateMachine, _ clock: FakeClock) -> ConnectionStateMachine.Expiry {
        machine.expiry(at: clock.now, timeouts: Self.timeouts)
    }

    @Test("slowloris: complete header lines every 2 s never reach the blank line; 408 once 10 s have passed")
    func refusesSlowlorisOfCompleteHeaderLines() {
        var clock = FakeClock()
        var machine = accepted(clock)
        bytes(&machine, .head, clock)   // "GET / HTTP/1.1\r\n"
        #expect(machine.phase == .readingHead)
        for _ in 0..<4 {
            clock.advance(seconds: 2)
            bytes(&machine, .head, clock)   // "X-Slow: 1\r\n": a whole line, parsed and consumed
            #expect(expiry(machine, clock) == .none)
        }
        clock.advance(seconds: 2.5)   // 10.5 s since the head's first byte
        #expect(expiry(machine, clock) == .requestTimeout)
    }

    @Test("slowloris: one header line every 50 s (inside the idle timeout) is a 408 at the header timeout")
    func refusesSlowlorisPacedUnderTheIdleTimeout() {
        var clock = FakeClock()
        var machine = accepted(clock)
        bytes(&machine, .head, clock)
        clock.advance(seconds: 9.9)
        #expect(expiry(machine, clock) == .none)
        clock.advance(seconds: 0.2)
        #expect(expiry(machine, clock) == .requestTimeout)
        clock.advance(seconds: 40)
        bytes(&machine, .head, clock)   // the next line does not restart the head's clock
        #expect(expiry(machine, clock) == .requestTimeout)
    }

    @Test("a head that completes within the header timeout is not timed out")
    func headInTimeIsServed() {
        var clock = FakeClock()
        var machine = accepted(clock)
        bytes(&machine, .head, clock)
        clock.advance(seconds: 9)
        machine.received(at: clock.now)
        machine.requestComplete(toHandler: false)
        machine.parserWaiting(in: .idle, at: clock.now)
        #expect(machine.phase == .idle)
        clock.advance(seconds: 5)
        #expect(expiry(machine, clock) == .none)
    }

    @Test("the header timeout of a kept-alive connection's next head starts at that head's first byte")
    func nextHeadGetsItsOwnTimeout() {
        var clock = FakeClock()
        var machine = accepted(clock)
        bytes(&machine, .head, clock)
        machine.requestComplete(toHandler: false)
        machine.parserWaiting(in: .idle, at: clock.now)
        clock.advance(seconds: 30)   // idle keep-alive, under the idle timeout
        #expect(expiry(machine, clock) == .none)
        bytes(&machine, .head, clock)
        #expect(machine.headStartedAt == clock.now)
        clock.advance(seconds: 9)
        #expect(expiry(machine, clock) == .none)
        clock.advance(seconds: 1.5)
        #expect(expiry(machine, clock) == .requestTimeout)
    }

    @Test("a pipelined head left over from the previous read starts its timeout when that request is done")
    func pipelinedHeadStartsAfterPreviousRequest() {
        var clock = FakeClock()
        var machine = accepted(clock)
        machine.received(at: clock.now)   // request 1 whole, then half of request 2's head
        machine.requestComplete(toHandler: true)
        clock.advance(seconds: 20)   // request 1 in a handler: no timeout runs
        #expect(machine.phase == .inHandler)
        #expect(expiry(machine, clock) == .none)
        machine.handlerFinished(at: clock.now)
        machine.parserWaiting(in: .head, at: clock.now)
        #expect(machine.headStartedAt == clock.now)
        clock.advance(seconds: 10.5)
        #expect(expiry(machine, clock) == .requestTimeout)
    }

    @Test("slow body: a body trickling a byte a second is a 408 once 30 s have passed since it started")
    func refusesBodyTrickledPastTheBodyTimeout() {
        var clock = FakeClock()
        var machine = accepted(clock)
        bytes(&machine, .head, clock)
        clock.advance(seconds: 8)   // the head took 8 s: the body's clock starts now, not then
        bytes(&machine, .body, clock)
        #expect(machine.phase == .readingBody)
        let bodyStarted = clock.now
        for _ in 0..<29 {
            clock.advance(seconds: 1)
            bytes(&machine, .body, clock)
            #expect(expiry(machine, clock) == .none)
        }
        clock.advance(seconds: 1.5)
        #expect(clock.now - bodyStarted > Self.timeouts.body)
        #expect(expiry(machine, clock) == .requestTimeout)
    }

    @Test("idle keep-alive: closed silently after the idle timeout, not before")
    func idleConnectionCloses() {
        var clock = FakeClock()
        let machine = accepted(clock)
        clock.advance(seconds: 59)
        #expect(expiry(machine, clock) == .none)
        clock.advance(seconds: 2)
        #expect(expiry(machine, clock) == .close)
    }

    @Test("no timeout runs while a handler has the request")
    func handlerIsNeverTimedOut() {
        var clock = FakeClock()
        var machine = accepted(clock)
        bytes(&machine, .head, clock)
        machine.requestComplete(toHandler: true)
        machine.received(at: clock.now)   // pipelined bytes arrive meanwhile
        clock.advance(seconds: 600)
        #expect(machine.phase == .inHandler)
        #expect(expiry(machine, clock) == .none)
    }

    @Test("output the client does not take: closed after the idle timeout without progress")
    func stalledOutputCloses() {
        var clock = FakeClock()
        var machine = accepted(clock)
        bytes(&machine, .head, clock)
        machine.requestComplete(toHandler: false)
        machine.parserWaiting(in: .idle, at: clock.now)
        machine.wrote(1000, outputLeft: true, at: clock.now)
        #expect(machine.phase == .writing)
        clock.advance(seconds: 50)
        machine.received(at: clock.now)   // input does not count as output progress
        clock.advance(seconds: 11)
        #expect(expiry(machine, clock) == .close)
    }

    @Test("output that keeps moving is not timed out, and reading resumes once it is out")
    func movingOutputIsKept() {
        var clock = FakeClock()
        var machine = accepted(clock)
        machine.wrote(1000, outputLeft: true, at: clock.now)
        for _ in 0..<5 {
            clock.advance(seconds: 30)
            machine.wrote(1000, outputLeft: true, at: clock.now)
            #expect(expiry(machine, clock) == .none)
        }
        machine.wrote(10, outputLeft: false, at: clock.now)
        #expect(machine.phase == .idle)
    }

    @Test("a lingering close ends at its drain deadline")
    func drainEnds() {
        var clock = FakeClock()
        var machine = accepted(clock)
        machine.startDraining(at: clock.now, for: 2_000_000_000)
        #expect(machine.phase == .draining)
        clock.advance(seconds: 1.9)
        #expect(expiry(machine, clock) == .none)
        clock.advance(seconds: 0.2)
        #expect(expiry(machine, clock) == .close)
    }

    @Test("a streaming response is never idle: an hour without output does not close it")
    func streamIsNotTimedOutAsIdle() {
        var clock = FakeClock()
        var machine = accepted(clock)
        bytes(&machine, .head, clock)
        machine.requestComplete(toHandler: true)
        clock.advance(seconds: 0.01)
        machine.handlerFinished(at: clock.now)
        machine.streamStarted(at: clock.now)
        machine.wrote(200, outputLeft: false, at: clock.now)
        #expect(machine.phase == .streaming)
        clock.advance(seconds: 3600)
        #expect(expiry(machine, clock) == .none)
        // A chunk that goes out whole changes nothing.
        machine.wrote(40, outputLeft: false, at: clock.now)
        clock.advance(seconds: 3600)
        #expect(expiry(machine, clock) == .none)
    }

    @Test("a streaming response whose client stops reading closes at the stalled-output limit (idle timeout)")
    func stalledStreamIsClosed() {
        var clock = FakeClock()
        var machine = accepted(clock)
        machine.streamStarted(at: clock.now)
        machine.wrote(1000, outputLeft: true, at: clock.now)   // the socket took part of a chunk
        #expect(machine.phase == .writing)
        clock.advance(seconds: 59)
        machine.wrote(0, outputLeft: true, at: clock.now)   // a heartbeat queued behind it, no progress
        #expect(expiry(machine, clock) == .none)
        clock.advance(seconds: 1.5)
        #expect(expiry(machine, clock) == .close)
    }

    @Test("a stream that ended is an ordinary connection again: its lingering close and idle rules apply")
    func endedStreamFollowsTheUsualRules() {
        var clock = FakeClock()
        var machine = accepted(clock)
        machine.streamStarted(at: clock.now)
        clock.advance(seconds: 500)
        machine.streamEnded(at: clock.now)
        #expect(machine.phase == .idle)
        clock.advance(seconds: 61)
        #expect(expiry(machine, clock) == .close)
    }
}
