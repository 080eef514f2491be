import Glibc

/// The outcome of a call on a non-blocking descriptor that did not fail.
public enum IOResult<Value>: Equatable where Value: Equatable {
    /// The call did its work and returned `Value` (a byte count, a descriptor, …).
    case processed(Value)
    /// `EAGAIN`/`EWOULDBLOCK`: nothing to do until epoll says the descriptor is ready.
    case wouldBlock
}

/// The one wrapper around every system call of the server's I/O path (read, send, accept,
/// epoll): it retries `EINTR`, turns `EAGAIN`/`EWOULDBLOCK` into `.wouldBlock`, traps on
/// `EBADF` and `EFAULT` (a closed or wild descriptor is a bug of ours, not something a client
/// can cause), and throws every other failure with the call's name and `errno`.
///
/// It exists so that the rules for interrupted and would-block calls are written once, in the
/// style of SwiftNIO's `syscall`, instead of at every call site with slightly different
/// spellings. `body` returns the raw result: negative means failure with `errno` set.
@inlinable
public func systemCall<Value: BinaryInteger>(
    _ name: StaticString, _ body: () -> Value
) throws(SystemCallError) -> IOResult<Value> {
    while true {
        let result = body()
        if result >= 0 { return .processed(result) }
        let error = errno
        switch error {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            return .wouldBlock
        case EBADF, EFAULT:
            preconditionFailure("\(name) failed with errno \(error): a bug, not an input")
        default:
            throw SystemCallError(call: name.description, errno: error)
        }
    }
}
