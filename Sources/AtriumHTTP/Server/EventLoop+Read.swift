import AtriumSystem
import Glibc

/// Reading: bytes off a connection into its parser, and the parser's requests out to
/// dispatch, in order; the state machine hears of each step.
extension EventLoop {
    func readable(_ connection: Connection) {
        if connection.state.isDraining || connection.stream != nil {
            // A streaming response reads no further request: what the client sends is dropped,
            // and its end of file closes the connection (and the stream).
            drainInput(connection)
            return
        }
        let limits = shared.configuration.limits
        let maxBuffered = limits.maxBodyBytes + limits.maxHeaderBytes + 65536
        while true {
            if connection.state.isInHandler && connection.parserBufferedBeyond(maxBuffered) {
                connection.readPaused = true
                break
            }
            let result: IOResult<Int>
            do {
                result = try systemCall("read") { read(connection.fd, scratch.baseAddress, Self.scratchSize) }
            } catch {
                closeConnection(connection)
                return
            }
            guard case .processed(let count) = result else { break }
            if count == 0 {
                connection.peerClosed = true
                break
            }
            connection.parser.append(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
            connection.state.received(at: now)
            if count < Self.scratchSize { break }
        }
        processRequests(connection)
        finishIfDone(connection)
    }

    /// Parses and dispatches buffered requests until one needs the worker pool, more bytes
    /// are needed, or the connection must close. Responses are written in request order.
    func processRequests(_ connection: Connection) {
        while !connection.state.isInHandler && !connection.closeAfterWrite && !connection.state.isDraining
                && connection.stream == nil {
            switch connection.parser.next() {
            case .needMoreData:
                connection.state.parserWaiting(in: connection.parser.phase, at: now)
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
                accessLog.record(requestID: id, method: nil, route: nil, status: error.status, startedAt: now)
                connection.closeAfterWrite = true
            case .request(let request):
                dispatch(request, on: connection)
            }
        }
        flush(connection)
    }

    /// Reads and drops what a client still sends after our last response (lingering close).
    func drainInput(_ connection: Connection) {
        while true {
            let result: IOResult<Int>
            do {
                result = try systemCall("read") { read(connection.fd, scratch.baseAddress, Self.scratchSize) }
            } catch {
                closeConnection(connection)
                return
            }
            switch result {
            case .processed(let count) where count > 0:
                continue
            case .processed:
                closeConnection(connection)
                return
            case .wouldBlock:
                return
            }
        }
    }
}

extension Connection {
    func parserBufferedBeyond(_ limit: Int) -> Bool {
        parser.bufferedByteCount > limit
    }
}
