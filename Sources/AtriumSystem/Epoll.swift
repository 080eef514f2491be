import CAtriumSystem
import Glibc

/// epoll, by name: the operations on an epoll instance and the event masks they take.
///
/// It exists so that the event loop says `Epoll.add(fd, to: epoll, events: .connection, ...)`
/// instead of `atrium_epoll_ctl(epfd, 0, fd, 0x80002005, ...)`, and so that every epoll call
/// goes through `systemCall` (retried on `EINTR`, failures carry the call's name and errno).
public enum Epoll {
    /// An epoll event mask.
    public struct Events: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let readable = Events(rawValue: atrium_epollin)
        public static let writable = Events(rawValue: atrium_epollout)
        /// The peer shut down its writing side.
        public static let readHangUp = Events(rawValue: atrium_epollrdhup)
        public static let hangUp = Events(rawValue: atrium_epollhup)
        public static let error = Events(rawValue: atrium_epollerr)
        public static let edgeTriggered = Events(rawValue: atrium_epollet)

        /// What a client connection waits for: input, room for output, and the peer's close,
        /// edge-triggered (the loop reads and writes until `wouldBlock`).
        public static let connection: Events = [.readable, .writable, .readHangUp, .edgeTriggered]
        /// Any of these means "try to read": data, end of input, or an error to collect.
        public static let readReady: Events = [.readable, .readHangUp, .hangUp, .error]
    }

    /// `epoll_ctl`'s operations (the C shim's numbering).
    private enum Operation: Int32 {
        case add = 0
        case modify = 1
        case delete = 2
    }

    /// A new epoll instance (close-on-exec).
    public static func create() throws(SystemCallError) -> Int32 {
        try processed("epoll_create1", systemCall("epoll_create1") { atrium_epoll_create() })
    }

    /// Watches `fd` for `events`; `token` comes back with each of its events.
    public static func add(_ fd: Int32, to epoll: Int32, events: Events, token: UInt64) throws(SystemCallError) {
        try control(.add, epoll: epoll, fd: fd, events: events, token: token)
    }

    /// Changes what `fd` is watched for.
    public static func modify(_ fd: Int32, in epoll: Int32, events: Events, token: UInt64) throws(SystemCallError) {
        try control(.modify, epoll: epoll, fd: fd, events: events, token: token)
    }

    /// Stops watching `fd`.
    public static func delete(_ fd: Int32, from epoll: Int32) throws(SystemCallError) {
        try control(.delete, epoll: epoll, fd: fd, events: [], token: 0)
    }

    /// Waits up to `timeoutMilliseconds` and unpacks up to `capacity` (at most 256) ready
    /// events into the two parallel arrays; returns how many.
    public static func wait(
        _ epoll: Int32, tokens: UnsafeMutablePointer<UInt64>, events: UnsafeMutablePointer<UInt32>,
        capacity: Int32, timeoutMilliseconds: Int32
    ) throws(SystemCallError) -> Int {
        Int(try processed("epoll_wait", systemCall("epoll_wait") {
            atrium_epoll_wait(epoll, tokens, events, capacity, timeoutMilliseconds)
        }))
    }

    private static func control(
        _ operation: Operation, epoll: Int32, fd: Int32, events: Events, token: UInt64
    ) throws(SystemCallError) {
        _ = try processed("epoll_ctl", systemCall("epoll_ctl") {
            atrium_epoll_ctl(epoll, operation.rawValue, fd, events.rawValue, token)
        })
    }

    /// epoll descriptors never report `wouldBlock`; if one did, it is a failure of its own.
    private static func processed(_ name: String, _ result: IOResult<Int32>) throws(SystemCallError) -> Int32 {
        switch result {
        case .processed(let value): return value
        case .wouldBlock: throw SystemCallError(call: name, errno: EAGAIN)
        }
    }
}
