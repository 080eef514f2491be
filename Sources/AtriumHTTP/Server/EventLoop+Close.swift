import AtriumSystem
import Glibc

/// Ending connections: when a connection's work is over, the lingering close, the timeouts
/// its state machine says are due, and the graceful shutdown.
extension EventLoop {
    /// Closes or starts draining a connection whose work is over.
    func finishIfDone(_ connection: Connection) {
        guard connections.indices.contains(Int(connection.fd)), connections[Int(connection.fd)] === connection else {
            return
        }
        if connection.state.isInHandler || connection.hasPendingOutput || connection.stream != nil { return }
        if connection.closeAfterWrite && !connection.state.isDraining {
            if connection.peerClosed {
                closeConnection(connection)
            } else {
                // Lingering close: shut our side, read and drop what the client still sends.
                shutdown(connection.fd, Int32(SHUT_WR))
                connection.state.startDraining(
                    at: now, for: shuttingDown ? timeouts.drainWhileShuttingDown : timeouts.drain)
                drainInput(connection)
            }
            return
        }
        if connection.peerClosed && !connection.state.isDraining {
            closeConnection(connection)
        } else if shuttingDown && !connection.state.isDraining && !connection.parser.hasBufferedBytes {
            closeConnection(connection)
        }
    }

    func closeConnection(_ connection: Connection) {
        let slot = Int(connection.fd)
        guard slot < connections.count, connections[slot] === connection else { return }
        connections[slot] = nil
        if let stream = connection.stream {
            connection.stream = nil
            stream.markClosed()
        }
        try? Epoll.delete(connection.fd, from: epollFD)
        close(connection.fd)
        shared.metrics.connectionClosed()
        descriptorFreed()
    }

    /// Acts on every connection whose deadline has passed (twice a second).
    func expireTimeouts() {
        for case let connection? in connections {
            switch connection.state.expiry(at: now, timeouts: timeouts) {
            case .none: continue
            case .close: closeConnection(connection)
            case .requestTimeout: timeOut(connection)
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
        accessLog.record(requestID: id, method: nil, route: nil, status: 408, startedAt: now)
        connection.closeAfterWrite = true
        flush(connection)
        finishIfDone(connection)
    }

    /// Stops accepting and closes the connections that have nothing in progress.
    func enterShutdown() {
        shuttingDown = true
        if listening {
            listening = false
            try? Epoll.delete(listenFD, from: epollFD)
        }
        acceptResumesAt = nil
        stoppedAccepting.store(true, ordering: .releasing)
        // Streams end cleanly: their final chunk, then the lingering close.
        for case let connection? in connections where connection.stream != nil {
            endStream(connection)
            flush(connection)
            finishIfDone(connection)
        }
        for case let connection? in connections where !connection.state.isInHandler && !connection.hasPendingOutput {
            closeConnection(connection)
        }
    }
}
