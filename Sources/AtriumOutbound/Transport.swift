import Glibc

/// The byte stream under the HTTP exchange: plain TCP or TLS over it. Both honour the same
/// overall deadline so the HTTP layer never thinks about time.
protocol Transport: AnyObject {
    func write(_ bytes: [UInt8], deadline: Deadline) throws(OutboundError)
    /// Reads up to `capacity` bytes; an empty array means the peer closed.
    func read(capacity: Int, deadline: Deadline) throws(OutboundError) -> [UInt8]
}

/// Plain HTTP: send with MSG_NOSIGNAL so a receiver that hangs up cannot kill us with SIGPIPE.
final class PlainTransport: Transport {
    private let socket: Socket

    init(socket: Socket) { self.socket = socket }

    func write(_ bytes: [UInt8], deadline: Deadline) throws(OutboundError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                raw.baseAddress.map { send(socket.fd, $0 + offset, raw.count - offset, Int32(MSG_NOSIGNAL)) } ?? -1
            }
            if sent > 0 { offset += sent; continue }
            if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try socket.wait(for: Int16(POLLOUT), deadline: deadline, what: "write")
                continue
            }
            if sent < 0 && errno == EINTR { continue }
            throw OutboundError(.connectFailed, "send: \(errnoText())")
        }
    }

    func read(capacity: Int, deadline: Deadline) throws(OutboundError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: capacity)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return Array(buffer[0..<count]) }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                try socket.wait(for: Int16(POLLIN), deadline: deadline, what: "read")
                continue
            }
            if errno == EINTR { continue }
            if errno == ECONNRESET { return [] }
            throw OutboundError(.connectFailed, "recv: \(errnoText())")
        }
    }
}
