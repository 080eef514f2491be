import Glibc

/// A system call that failed for a reason other than "interrupted" or "would block".
///
/// It exists so that every failure of the syscall layer says which call failed and why
/// (`errno`), as a value callers can switch on (`EMFILE`, `ECONNRESET`, …) instead of a global
/// read at the wrong moment.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call's name, e.g. `"accept4"`.
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call) failed: \(String(cString: strerror(errno)))" }
}
