import Glibc

/// A non-blocking TCP socket owned by one delivery attempt; closed in deinit so no path
/// (error or success) leaks a descriptor.
final class Socket {
    let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Connects to exactly this address (the one the policy checked), never to a name.
    static func connect(to address: IPAddress, port: Int, deadline: Deadline) throws(OutboundError) -> Socket {
        let family: Int32
        switch address {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(family, type, 0)
        guard fd >= 0 else { throw OutboundError(.connectFailed, "socket: \(errnoText())") }
        let sock = Socket(fd: fd)
        let result: Int32
        switch address {
        case .v4(let value):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            sin.sin_addr.s_addr = value.bigEndian
            result = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(let bytes):
            guard bytes.count == 16 else { throw OutboundError(.connectFailed, "bad IPv6 address") }
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                for index in 0..<16 { raw[index] = bytes[index] }
            }
            result = withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        if result != 0 {
            guard errno == EINPROGRESS || errno == EINTR else {
                throw OutboundError(.connectFailed, "connect \(address): \(errnoText())")
            }
            try sock.wait(for: Int16(POLLOUT), deadline: deadline, what: "connect")
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else {
                throw OutboundError(.connectFailed, "connect \(address): \(String(cString: strerror(error)))")
            }
        }
        return sock
    }

    /// Waits until the socket is ready for `events` or the deadline passes.
    func wait(for events: Int16, deadline: Deadline, what: String) throws(OutboundError) {
        while true {
            let remaining = deadline.remainingMilliseconds
            guard remaining > 0 else { throw OutboundError(.timeout, "timed out during \(what)") }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, remaining)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw OutboundError(.connectFailed, "poll: \(errnoText())") }
        }
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }

/// Text of a NUL-terminated C buffer.
func textOfCBuffer(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
