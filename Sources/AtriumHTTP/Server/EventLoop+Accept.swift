import AtriumSystem
import CAtriumSystem
import Glibc

/// Accepting: new connections off this loop's listening socket, the connection limit's 503,
/// and resting when the process runs out of file descriptors.
extension EventLoop {
    /// How long accepting rests after `EMFILE`/`ENFILE` (unless a connection closes sooner).
    static let acceptRest: UInt64 = 100_000_000

    func acceptConnections() {
        guard listening else { return }
        var address = [CChar](repeating: 0, count: 64)
        for _ in 0..<64 {
            let accepted: IOResult<Int32>
            do {
                accepted = try systemCall("accept4") {
                    address.withUnsafeMutableBufferPointer { atrium_accept(listenFD, $0.baseAddress, 64) }
                }
            } catch {
                switch error.errno {
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // The listening socket stays readable while the backlog waits, so polling
                    // it now would spin; rest until a descriptor is likely free again.
                    restAccepting()
                    return
                case ECONNABORTED, EPROTO, EPERM, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH,
                     EOPNOTSUPP, ENETUNREACH:
                    // The client left before we took it, or an error that belongs to that one
                    // connection (accept(2)): go on with the next.
                    continue
                default:
                    return
                }
            }
            guard case .processed(let fd) = accepted else { return }
            let client = address.withUnsafeBufferPointer { buffer in
                buffer.baseAddress.map { String(cString: $0) } ?? ""
            }
            if shared.metrics.openConnectionCount >= shared.configuration.maxConnections {
                refuseOverCapacity(fd)
                continue
            }
            register(fd: fd, clientAddress: client)
        }
    }

    private func register(fd: Int32, clientAddress: String) {
        generationCounter &+= 1
        let connection = Connection(
            fd: fd, generation: generationCounter, clientAddress: clientAddress,
            limits: shared.configuration.limits, now: now)
        let slot = Int(fd)
        if slot >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: slot - connections.count + 1024))
        }
        connections[slot] = connection
        shared.metrics.connectionOpened()
        do {
            try Epoll.add(fd, to: epollFD, events: .connection, token: UInt64(slot))
        } catch {
            closeConnection(connection)
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
        _ = buffer.withUnsafeBytes { raw in try? systemCall("write") { write(fd, raw.baseAddress, raw.count) } }
        shared.metrics.record(routeIndex: -1, status: 503, nanoseconds: 0)
        shared.metrics.recordShed(.connectionLimit)
        close(fd)
    }

    /// Out of descriptors: stop watching the listening socket for `acceptRest`. The
    /// connections already open are served meanwhile; the waiting clients stay in the backlog.
    private func restAccepting() {
        guard listening else { return }
        listening = false
        try? Epoll.delete(listenFD, from: epollFD)
        acceptResumesAt = now &+ Self.acceptRest
    }

    /// A connection closed: a descriptor is free, so accepting may try again at once.
    func descriptorFreed() {
        if acceptResumesAt != nil { acceptResumesAt = now }
    }

    /// Watches the listening socket again once the rest is over (not during shutdown).
    func resumeAcceptingIfDue() {
        guard let resumesAt = acceptResumesAt, now >= resumesAt else { return }
        acceptResumesAt = nil
        guard !shuttingDown else { return }
        do {
            try Epoll.add(listenFD, to: epollFD, events: .readable, token: Self.listenToken)
            listening = true
        } catch {
            acceptResumesAt = now &+ Self.acceptRest
        }
    }
}
