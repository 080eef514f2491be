import Glibc

/// Where log lines go (standard output for the access log, standard error for errors),
/// written whole under a lock so lines from different threads never interleave.
///
/// It exists so that every writer of log lines (the event loops' access log, `ErrorLog`)
/// shares one way of getting bytes to a file descriptor: whole lines, `EINTR` retried.
///
/// `@unchecked Sendable`: `fd` is immutable and every write holds `lock`.
public final class LogSink: @unchecked Sendable {
    private let lock = PThreadMutex()
    private let fd: Int32

    public static let standardError = LogSink(fd: 2)

    public init(fd: Int32 = 1) { self.fd = fd }

    /// Writes `bytes` (one or more whole lines); a descriptor that fails drops the rest.
    public func write(_ bytes: [UInt8]) {
        lock.withLock {
            bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, base + offset, raw.count - offset)
                    if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
                }
            }
        }
    }
}
