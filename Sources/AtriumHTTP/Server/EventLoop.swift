import AtriumSystem
import CAtriumSystem
import Glibc
import Synchronization

/// One epoll loop on its own thread: accepts connections, reads and parses requests, runs
/// non-blocking handlers inline, hands blocking ones to the worker pool, and writes
/// responses back in request order.
///
/// Everything but `inbox` and `shutdownRequested` is touched only by the loop's own thread.
final class EventLoop: @unchecked Sendable {
    // @unchecked Sendable: the connection table, buffers and clocks are confined to the
    // loop thread (`run()` and what it calls). Other threads reach the loop only through
    // `inbox` (a Mutex) and `wake()` (an eventfd write), and `shutdownRequested`/`stopped`
    // are atomics.
    private static let listenToken: UInt64 = .max
    private static let wakeToken: UInt64 = .max - 1
    private static let scratchSize = 64 * 1024
    private static let nanosPerSecond: UInt64 = 1_000_000_000
    /// An `epoll_wait` that took longer than this (50 µs) slept rather than found events ready.
    private static let sleptThreshold: UInt64 = 50_000

    let index: Int
    private let shared: ServerShared
    private let epollFD: Int32
    private let wakeFD: Int32
    /// This loop's own listening socket.
    private let listenFD: Int32
    private let inbox = Mutex<[Completion]>([])
    private let shutdownRequested = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    /// Set by the loop once it no longer watches the listening socket.
    let stoppedAccepting = Atomic<Bool>(false)

    private var connections: [Connection?] = []
    private var generationCounter: UInt32 = 0
    private var scratch: UnsafeMutableRawBufferPointer
    private var writeBuffer: [UInt8] = []
    private var logBuffer: [UInt8] = []
    private var requestIDs: RequestIdentifiers
    private var now: UInt64 = 0
    private var lastTick: UInt64 = 0
    private var dateLine: [UInt8] = []
    private var listening = true
    private var shuttingDown = false
    private let logClock = LogClock()
    /// Jobs dispatched during this turn of the loop, handed to their pools together at its
    /// end: one lock and at most one wake-up per idle worker, instead of one per request.
    private var queuedJobs: [QueuedJob] = []

    private struct QueuedJob {
        let pool: WorkerPool
        let fd: Int32
        let generation: UInt32
        let responder: HTTPResponder
        let work: @Sendable () -> Void
    }

    init(index: Int, shared: ServerShared) throws(HTTPServerError) {
        self.index = index
        self.shared = shared
        epollFD = atrium_epoll_create()
        guard epollFD >= 0 else { throw HTTPServerError(operation: "epoll_create1", errno: errno) }
        wakeFD = atrium_eventfd()
        guard wakeFD >= 0 else { throw HTTPServerError(operation: "eventfd", errno: errno) }
        scratch = .allocate(byteCount: Self.scratchSize, alignment: 16)
        requestIDs = RequestIdentifiers(loopIndex: index)
        writeBuffer.reserveCapacity(Self.scratchSize)
        guard atrium_epoll_ctl(epollFD, 0, wakeFD, atrium_epollin, Self.wakeToken) == 0 else {
            throw HTTPServerError(operation: "epoll_ctl(eventfd)", errno: errno)
        }
        listenFD = shared.listenFDs[index]
        guard atrium_epoll_ctl(epollFD, 0, listenFD, atrium_epollin, Self.listenToken) == 0 else {
            throw HTTPServerError(operation: "epoll_ctl(listen)", errno: errno)
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

    // MARK: The loop

    func run() {
        let maxEvents = 256
        let datas = UnsafeMutablePointer<UInt64>.allocate(capacity: maxEvents)
        let events = UnsafeMutablePointer<UInt32>.allocate(capacity: maxEvents)
        defer {
            datas.deallocate()
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
            let count = atrium_epoll_wait(epollFD, datas, events, Int32(maxEvents), 250)
            now = atrium_monotonic_ns()
            // A wait this long means the loop slept: it has not been hogging the core.
            if now &- waitStarted > Self.sleptThreshold { busySince = now }
            if count < 0 && errno != EINTR { break }
            for i in 0..<Int(max(0, count)) {
                let token = datas[i]
                if token == Self.listenToken {
                    acceptConnections()
                } else if token == Self.wakeToken {
                    _ = atrium_eventfd_drain(wakeFD)
                    drainInbox()
                } else {
                    let fd = Int(truncatingIfNeeded: token)
                    guard fd < connections.count, let connection = connections[fd] else { continue }
                    let flags = events[i]
                    if flags & atrium_epollout != 0 { writable(connection) }
                    if flags & (atrium_epollin | atrium_epollrdhup | atrium_epollhup | atrium_epollerr) != 0 {
                        readable(connection)
                    }
                }
            }
            submitQueuedJobs()
            if shutdownRequested.load(ordering: .acquiring) && !shuttingDown { enterShutdown() }
            if now &- lastTick >= Self.nanosPerSecond / 2 {
                lastTick = now
                refreshDate()
                expireTimeouts()
            }
            flushLog()
        }
        for case let connection? in connections { closeConnection(connection) }
        flushLog()
    }

    // MARK: Accepting

    private func acceptConnections() {
        guard listening else { return }
        var address = [CChar](repeating: 0, count: 64)
        for _ in 0..<64 {
            let fd = address.withUnsafeMutableBufferPointer { atrium_accept(listenFD, $0.baseAddress, 64) }
            if fd < 0 { return }
            let client = address.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if shared.metrics.openConnectionCount >= shared.configuration.maxConnections {
                refuseOverCapacity(fd)
                continue
            }
            generationCounter &+= 1
            let connection = Connection(
                fd: fd, generation: generationCounter, clientAddress: client,
                limits: shared.configuration.limits, now: now)
            let slot = Int(fd)
            if slot >= connections.count {
                connections.append(contentsOf: repeatElement(nil, count: slot - connections.count + 1024))
            }
            connections[slot] = connection
            shared.metrics.connectionOpened()
            let interest = atrium_epollin | atrium_epollout | atrium_epollrdhup | atrium_epollet
            if atrium_epoll_ctl(epollFD, 0, fd, interest, UInt64(slot)) != 0 {
                closeConnection(connection)
            }
        }
    }

    /// Beyond the connection limit: one 503, then close (server.md).
    private func refuseOverCapacity(_ fd: Int32) {
        var buffer: [UInt8] = []
        let id = requestIDs.make(echoing: nil)
        var response = HTTPResponse(status: 503)
        response.body = shared.renderError(.unavailable, "The server is at its connection limit.", id)
        ResponseEncoder.encode(response, requestID: id, dateLine: dateLine, headOnly: false, close: true,
                               keepAlive10: false, into: &buffer)
        _ = buffer.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        shared.metrics.record(routeIndex: -1, status: 503, nanoseconds: 0)
        close(fd)
    }

    // MARK: Reading

    private func readable(_ connection: Connection) {
        if connection.draining {
            drainInput(connection)
            return
        }
        let maxBuffered = shared.configuration.limits.maxBodyBytes + shared.configuration.limits.maxHeaderBytes + 65536
        while true {
            if connection.busy && connection.parserBufferedBeyond(maxBuffered) {
                connection.readPaused = true
                break
            }
            let count = read(connection.fd, scratch.baseAddress, Self.scratchSize)
            if count > 0 {
                connection.parser.append(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
                connection.lastActivity = now
                if connection.headStartedAt == 0 { connection.headStartedAt = now }
                if count < Self.scratchSize { break }
            } else if count == 0 {
                connection.peerClosed = true
                break
            } else {
                let error = errno
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK { break }
                closeConnection(connection)
                return
            }
        }
        processRequests(connection)
        finishIfDone(connection)
    }

    /// Parses and dispatches buffered requests until one needs the worker pool, more bytes
    /// are needed, or the connection must close. Responses are written in request order.
    private func processRequests(_ connection: Connection) {
        while !connection.busy && !connection.closeAfterWrite && !connection.draining {
            switch connection.parser.next() {
            case .needMoreData:
                if connection.parser.phase == .body && connection.bodyStartedAt == 0 {
                    connection.bodyStartedAt = now
                }
                if !connection.parser.hasBufferedBytes { connection.headStartedAt = 0 }
                flush(connection)
                return
            case .continueExpected:
                writeBuffer.append(contentsOf: ResponseEncoder.continueResponse)
            case .failed(let error):
                let id = requestIDs.make(echoing: nil)
                var response = HTTPResponse(status: error.status)
                response.body = shared.renderError(ErrorCode.forParseStatus(error.status), error.message, id)
                ResponseEncoder.encode(response, requestID: id, dateLine: dateLine, headOnly: false, close: true,
                                       keepAlive10: false, into: &writeBuffer)
                shared.metrics.record(routeIndex: -1, status: error.status, nanoseconds: 0)
                logLine(requestID: id, method: nil, route: nil, status: error.status, startedAt: now, extra: [])
                connection.closeAfterWrite = true
            case .request(let request):
                connection.headStartedAt = connection.parser.hasBufferedBytes ? now : 0
                connection.bodyStartedAt = 0
                dispatch(request, on: connection)
            }
        }
        flush(connection)
    }

    // MARK: Dispatching

    private func dispatch(_ request: HTTPRequest, on connection: Connection) {
        let requestID = requestIDs.make(echoing: request.headers.first("x-request-id"))
        let keepAlive = request.keepAlive && !shuttingDown && !connection.peerClosed
        let headOnly = request.method == .head
        let http10 = request.version == .http10
        let started = now
        switch shared.router.match(method: request.method, path: request.path) {
        case .notFound where request.method == .trace:
            var response = HTTPResponse(status: 405, headers: [("Allow", "OPTIONS")])
            response.body = shared.renderError(.methodNotAllowed, "TRACE is not supported.", requestID)
            answerInline(response, id: requestID, method: request.method, routeIndex: -1, template: nil,
                         started: started, headOnly: false, keepAlive: keepAlive, http10: http10, on: connection)
        case .notFound:
            if request.method == .options && request.path == "*" {
                var response = HTTPResponse(status: 204)
                response.headers.append(("Allow", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"))
                answerInline(response, id: requestID, method: request.method, routeIndex: -1, template: nil,
                             started: started, headOnly: headOnly, keepAlive: keepAlive, http10: http10, on: connection)
                return
            }
            var response = HTTPResponse(status: 404)
            response.body = shared.renderError(.notFound, "No such route.", requestID)
            answerInline(response, id: requestID, method: request.method, routeIndex: -1, template: nil,
                         started: started, headOnly: headOnly, keepAlive: keepAlive, http10: http10, on: connection)
        case .methodNotAllowed(let allowed):
            var allow = allowed
            if !allow.contains("OPTIONS") { allow.append("OPTIONS") }
            let allowValue = allow.sorted().joined(separator: ", ")
            var response: HTTPResponse
            if request.method == .options {
                response = HTTPResponse(status: 204)
            } else {
                response = HTTPResponse(status: 405)
                response.body = shared.renderError(.methodNotAllowed, "Method not allowed on this route.", requestID)
            }
            response.headers.append(("Allow", allowValue))
            answerInline(response, id: requestID, method: request.method, routeIndex: -1, template: nil,
                         started: started, headOnly: headOnly, keepAlive: keepAlive, http10: http10, on: connection)
        case .matched(let route, let parameters):
            let context = RequestContext(
                requestID: requestID, routeTemplate: route.template,
                parameters: parameters, clientAddress: connection.clientAddress)
            if case .eventLoop = route.placement {
                let response = route.handler.handle(request, context: context)
                answerInline(response, id: requestID, method: request.method, routeIndex: route.index,
                             template: route.template, started: started, headOnly: headOnly,
                             keepAlive: keepAlive, http10: http10, on: connection)
                return
            }
            connection.busy = true
            connection.inflight = InflightRequest(
                requestID: requestID, method: request.method, routeIndex: route.index,
                routeTemplate: route.template, startedAt: started, headOnly: headOnly,
                keepAlive: keepAlive, http10: http10)
            let fd = connection.fd
            let generation = connection.generation
            let handler = route.handler
            let pool: WorkerPool
            if case .dedicatedPool(let dedicated) = route.placement { pool = dedicated } else { pool = shared.workers }
            let responder = HTTPResponder(loop: self, fd: fd, generation: generation)
            queuedJobs.append(QueuedJob(pool: pool, fd: fd, generation: generation, responder: responder) {
                handler.handle(request, context: context, responder: responder)
            })
        }
    }

    /// Hands this turn's jobs to their pools; a job a full pool refuses is answered 503.
    private func submitQueuedJobs() {
        while !queuedJobs.isEmpty {
            let pool = queuedJobs[0].pool
            let sameTail = queuedJobs.firstIndex { $0.pool !== pool } ?? queuedJobs.count
            let group = Array(queuedJobs[0..<sameTail])
            queuedJobs.removeFirst(sameTail)
            let accepted = pool.submit(batch: group.map(\.work))
            for refused in group[accepted...] {
                refused.responder.withdraw()
                refuseOverload(fd: refused.fd, generation: refused.generation)
            }
        }
    }

    private func refuseOverload(fd: Int32, generation: UInt32) {
        let slot = Int(fd)
        guard slot < connections.count, let connection = connections[slot], connection.generation == generation,
              let inflight = connection.inflight else { return }
        connection.busy = false
        connection.inflight = nil
        var response = HTTPResponse(status: 503, headers: [("Retry-After", "1")])
        response.body = shared.renderError(.unavailable, "The server is overloaded; retry shortly.", inflight.requestID)
        answerInline(response, id: inflight.requestID, method: inflight.method, routeIndex: inflight.routeIndex,
                     template: inflight.routeTemplate, started: inflight.startedAt, headOnly: inflight.headOnly,
                     keepAlive: inflight.keepAlive, http10: inflight.http10, on: connection)
        flush(connection)
        finishIfDone(connection)
    }

    private func answerInline(
        _ response: HTTPResponse, id: String, method: HTTPMethod, routeIndex: Int, template: String?,
        started: UInt64, headOnly: Bool, keepAlive: Bool, http10: Bool, on connection: Connection
    ) {
        let close = !keepAlive || shuttingDown
        ResponseEncoder.encode(response, requestID: id, dateLine: dateLine, headOnly: headOnly, close: close,
                               keepAlive10: http10 && !close, into: &writeBuffer)
        if close { connection.closeAfterWrite = true }
        let elapsed = atrium_monotonic_ns() &- started
        shared.metrics.record(routeIndex: routeIndex, status: response.status, nanoseconds: elapsed)
        logLine(requestID: id, method: method, route: template, status: response.status, startedAt: started,
                extra: response.logFields)
    }

    private func drainInbox() {
        let completions = inbox.withLock { queued -> [Completion] in
            let taken = queued
            queued.removeAll(keepingCapacity: true)
            return taken
        }
        for completion in completions {
            let slot = Int(completion.fd)
            guard slot < connections.count, let connection = connections[slot],
                  connection.generation == completion.generation, let inflight = connection.inflight else { continue }
            connection.busy = false
            connection.inflight = nil
            let response = completion.response ?? unanswered(requestID: inflight.requestID)
            answerInline(response, id: inflight.requestID, method: inflight.method,
                         routeIndex: inflight.routeIndex, template: inflight.routeTemplate,
                         started: inflight.startedAt, headOnly: inflight.headOnly,
                         keepAlive: inflight.keepAlive && !connection.peerClosed, http10: inflight.http10,
                         on: connection)
            if connection.readPaused && !connection.closeAfterWrite {
                connection.readPaused = false
                flush(connection)
                readable(connection)
            } else {
                processRequests(connection)
                finishIfDone(connection)
            }
        }
    }

    /// What a request gets whose handler dropped its responder without answering.
    private func unanswered(requestID: String) -> HTTPResponse {
        var response = HTTPResponse(status: 500)
        response.body = shared.renderError(.internalError, "The request was not answered.", requestID)
        return response
    }

    // MARK: Writing

    /// Sends what `writeBuffer` holds for this connection (after anything still pending).
    private func flush(_ connection: Connection) {
        if !writeBuffer.isEmpty {
            if connection.hasPendingOutput {
                connection.pendingOutput.append(contentsOf: writeBuffer)
            } else {
                let written = writeBuffer.withUnsafeBytes { sendAll(connection.fd, $0) }
                if written < 0 {
                    writeBuffer.removeAll(keepingCapacity: true)
                    connection.closeAfterWrite = true
                    connection.pendingOutput = []
                    connection.pendingOffset = 0
                    connection.peerClosed = true
                    return
                }
                if written < writeBuffer.count {
                    connection.pendingOutput = Array(writeBuffer[written...])
                    connection.pendingOffset = 0
                }
                connection.lastActivity = now
            }
            writeBuffer.removeAll(keepingCapacity: true)
        }
        if connection.hasPendingOutput { writePending(connection) }
    }

    private func writable(_ connection: Connection) {
        if connection.hasPendingOutput {
            writePending(connection)
            finishIfDone(connection)
        }
    }

    private func writePending(_ connection: Connection) {
        let written = connection.pendingOutput.withUnsafeBytes { raw in
            sendAll(connection.fd, UnsafeRawBufferPointer(rebasing: raw[connection.pendingOffset...]))
        }
        if written < 0 {
            connection.pendingOutput = []
            connection.pendingOffset = 0
            connection.closeAfterWrite = true
            connection.peerClosed = true
            return
        }
        connection.pendingOffset += written
        connection.lastActivity = now
        if connection.pendingOffset >= connection.pendingOutput.count {
            connection.pendingOutput = []
            connection.pendingOffset = 0
        }
    }

    /// Writes until done or the socket is full; returns bytes written or -1 on a dead socket.
    private func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count {
            let n = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                break
            } else {
                return -1
            }
        }
        return offset
    }

    // MARK: Closing

    /// Closes or starts draining a connection whose work is over.
    private func finishIfDone(_ connection: Connection) {
        guard connections.indices.contains(Int(connection.fd)), connections[Int(connection.fd)] === connection else { return }
        if connection.busy || connection.hasPendingOutput { return }
        if connection.closeAfterWrite && !connection.draining {
            if connection.peerClosed {
                closeConnection(connection)
            } else {
                // Lingering close: shut our side, read and drop what the client still sends.
                shutdown(connection.fd, Int32(SHUT_WR))
                connection.draining = true
                connection.drainDeadline = now &+ (shuttingDown ? Self.nanosPerSecond / 5 : 2 * Self.nanosPerSecond)
                drainInput(connection)
            }
            return
        }
        if connection.peerClosed && !connection.draining {
            closeConnection(connection)
        } else if shuttingDown && !connection.draining && !connection.parser.hasBufferedBytes {
            closeConnection(connection)
        }
    }

    private func drainInput(_ connection: Connection) {
        while true {
            let count = read(connection.fd, scratch.baseAddress, Self.scratchSize)
            if count > 0 { continue }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            closeConnection(connection)
            return
        }
    }

    private func closeConnection(_ connection: Connection) {
        let slot = Int(connection.fd)
        guard slot < connections.count, connections[slot] === connection else { return }
        connections[slot] = nil
        _ = atrium_epoll_ctl(epollFD, 2, connection.fd, 0, 0)
        close(connection.fd)
        shared.metrics.connectionClosed()
    }

    // MARK: Time

    private func refreshDate() {
        var raw = [CChar](repeating: 0, count: 64)
        let length = raw.withUnsafeMutableBufferPointer { atrium_http_date($0.baseAddress, 64) }
        var line = Array("Date: ".utf8)
        line.append(contentsOf: raw[0..<Int(length)].map { UInt8(bitPattern: $0) })
        line.append(contentsOf: "\r\n".utf8)
        dateLine = line
    }

    private func expireTimeouts() {
        let configuration = shared.configuration
        let headLimit = UInt64(configuration.headerTimeoutSeconds * 1e9)
        let bodyLimit = UInt64(configuration.bodyTimeoutSeconds * 1e9)
        let idleLimit = UInt64(configuration.idleTimeoutSeconds * 1e9)
        for case let connection? in connections {
            if connection.draining {
                if now >= connection.drainDeadline { closeConnection(connection) }
                continue
            }
            if connection.busy { continue }
            let phase = connection.parser.phase
            if phase == .body && connection.bodyStartedAt != 0 && now &- connection.bodyStartedAt > bodyLimit {
                timeOut(connection)
            } else if phase != .body && connection.parser.hasBufferedBytes && connection.headStartedAt != 0
                        && now &- connection.headStartedAt > headLimit {
                timeOut(connection)
            } else if now &- connection.lastActivity > idleLimit {
                closeConnection(connection)
            }
        }
    }

    /// 408, then close (server.md).
    private func timeOut(_ connection: Connection) {
        let id = requestIDs.make(echoing: nil)
        var response = HTTPResponse(status: 408)
        response.body = shared.renderError(.requestTimeout, "The request took too long to arrive.", id)
        ResponseEncoder.encode(response, requestID: id, dateLine: dateLine, headOnly: false, close: true,
                               keepAlive10: false, into: &writeBuffer)
        shared.metrics.record(routeIndex: -1, status: 408, nanoseconds: 0)
        logLine(requestID: id, method: nil, route: nil, status: 408, startedAt: now, extra: [])
        connection.closeAfterWrite = true
        flush(connection)
        finishIfDone(connection)
    }

    // MARK: Shutdown

    private func enterShutdown() {
        shuttingDown = true
        if listening {
            listening = false
            _ = atrium_epoll_ctl(epollFD, 2, listenFD, 0, 0)
        }
        stoppedAccepting.store(true, ordering: .releasing)
        for case let connection? in connections where !connection.busy && !connection.hasPendingOutput {
            closeConnection(connection)
        }
    }

    // MARK: Access log

    private func logLine(requestID: String, method: HTTPMethod?, route: String?, status: Int, startedAt: UInt64,
                         extra: [UInt8]) {
        guard shared.configuration.accessLog else { return }
        let elapsedMicros = Int((atrium_monotonic_ns() &- startedAt) / 1000)
        logBuffer.append(contentsOf: #"{"time":""#.utf8)
        logClock.appendTimestamp(to: &logBuffer)
        logBuffer.append(contentsOf: #"","request_id":""#.utf8)
        logBuffer.append(contentsOf: requestID.utf8)
        logBuffer.append(contentsOf: #"","method":""#.utf8)
        logBuffer.append(contentsOf: (method?.rawValue ?? "-").utf8)
        logBuffer.append(contentsOf: #"","route":"#.utf8)
        if let route {
            logBuffer.append(UInt8(ascii: "\""))
            logBuffer.append(contentsOf: route.utf8)
            logBuffer.append(UInt8(ascii: "\""))
        } else {
            logBuffer.append(contentsOf: "null".utf8)
        }
        logBuffer.append(contentsOf: #","status":"#.utf8)
        ResponseEncoder.appendDecimal(status, to: &logBuffer)
        logBuffer.append(contentsOf: #","duration_ms":"#.utf8)
        ResponseEncoder.appendDecimal(elapsedMicros / 1000, to: &logBuffer)
        logBuffer.append(UInt8(ascii: "."))
        let micros = elapsedMicros % 1000
        if micros < 100 { logBuffer.append(UInt8(ascii: "0")) }
        if micros < 10 { logBuffer.append(UInt8(ascii: "0")) }
        ResponseEncoder.appendDecimal(micros, to: &logBuffer)
        if !extra.isEmpty {
            logBuffer.append(UInt8(ascii: ","))
            logBuffer.append(contentsOf: extra)
        }
        logBuffer.append(contentsOf: "}\n".utf8)
        if logBuffer.count > 32 * 1024 { flushLog() }
    }

    private func flushLog() {
        guard !logBuffer.isEmpty else { return }
        shared.logSink.write(logBuffer)
        logBuffer.removeAll(keepingCapacity: true)
    }
}

extension Connection {
    func parserBufferedBeyond(_ limit: Int) -> Bool {
        parser.bufferedByteCount > limit
    }
}
