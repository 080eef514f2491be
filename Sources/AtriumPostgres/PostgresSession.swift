import AtriumSystem
import CLibPQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One dedicated connection for session-level state: advisory locks and LISTEN/NOTIFY.
///
/// It exists for the multi-instance work: a leader lock that PostgreSQL releases when its
/// session dies, and wake-ups sent outside request transactions. Neither may go through the
/// pools (a pooled connection's session is shared by unrelated work) nor through PgBouncer's
/// transaction mode. Calls are serialized by a lock; `wait` holds it while it waits.
///
/// `@unchecked Sendable`: `connection` is only used while holding `mutex`, so the
/// non-`Sendable` connection is confined to one thread at a time.
public final class PostgresSession: @unchecked Sendable {
    private let mutex = PThreadMutex()
    private let connection: PostgresConnection

    public init(url: String) throws(PostgresError) {
        var settings = ConnectionSettings()
        settings.idleInTransactionTimeoutMilliseconds = 0
        connection = try PostgresConnection(url: url, settings: settings)
    }

    /// Takes the session advisory lock `key` if it is free; true when this session holds it.
    public func tryAdvisoryLock(_ key: Int64) throws(PostgresError) -> Bool {
        try scalarBool("SELECT pg_try_advisory_lock(?::bigint)", key)
    }

    /// Releases one hold of `key`; false when this session did not hold it.
    @discardableResult
    public func advisoryUnlock(_ key: Int64) throws(PostgresError) -> Bool {
        try scalarBool("SELECT pg_advisory_unlock(?::bigint)", key)
    }

    /// Subscribes this session to `channel`; `wait` then returns when a NOTIFY on it arrives.
    public func listen(channel: String) throws(PostgresError) {
        let quoted = try Self.quotedIdentifier(channel)
        try mutex.withLock { () throws(PostgresError) in try connection.execute("LISTEN \(quoted)") }
    }

    /// Sends a notification on `channel` (outside any transaction: it is delivered at once).
    public func notify(channel: String, payload: String = "") throws(PostgresError) {
        try mutex.withLock { () throws(PostgresError) in
            try connection.run("SELECT pg_notify(?, ?)", [.text(channel), .text(payload)])
        }
    }

    /// Waits up to `timeoutMilliseconds` for a notification on a channel this session listens
    /// to; true when at least one arrived (all that arrived are consumed), false on timeout.
    public func wait(timeoutMilliseconds: Int) throws(PostgresError) -> Bool {
        !(try notifications(timeoutMilliseconds: timeoutMilliseconds)).isEmpty
    }

    /// Waits up to `timeoutMilliseconds` for notifications on the channels this session
    /// listens to and returns every one that arrived (empty on timeout), with its payload.
    public func notifications(timeoutMilliseconds: Int) throws(PostgresError) -> [PostgresNotification] {
        mutex.lock()
        defer { mutex.unlock() }
        let handle = try connection.openHandle()
        var received = Self.drainNotifications(handle)
        if !received.isEmpty { return received }
        let deadline = monotonicMilliseconds() + Int64(max(0, timeoutMilliseconds))
        while true {
            let remaining = deadline - monotonicMilliseconds()
            if remaining <= 0 { return [] }
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            guard descriptor.fd >= 0 else { throw PostgresError.connectionLost("the session's connection is closed") }
            let ready = poll(&descriptor, 1, Int32(clamping: remaining))
            if ready < 0 {
                if errno == EINTR { continue }
                throw PostgresError.connectionLost("poll on the session's connection failed (errno \(errno))")
            }
            if ready == 0 { return [] }
            if PQconsumeInput(handle) == 0 {
                throw PostgresError.connectionLost(
                    "the session's connection broke: " + PostgresError.clean(String(cString: PQerrorMessage(handle))))
            }
            received = Self.drainNotifications(handle)
            if !received.isEmpty { return received }
        }
    }

    /// Runs a trivial statement: throws when the session's connection is gone (and with it
    /// every advisory lock it held).
    public func ping() throws(PostgresError) {
        try mutex.withLock { () throws(PostgresError) in try connection.execute("SELECT 1") }
    }

    /// True while the session's connection is healthy.
    public var isOpen: Bool {
        mutex.withLock { connection.isOpen }
    }

    /// Reconnects; advisory locks and LISTENs of the old session are gone and must be redone.
    public func reconnect() throws(PostgresError) {
        try mutex.withLock { () throws(PostgresError) in try connection.reconnect() }
    }

    /// Closes the connection, releasing every advisory lock it held. Idempotent.
    public func close() {
        mutex.withLock { connection.close() }
    }

    private func scalarBool(_ sql: String, _ key: Int64) throws(PostgresError) -> Bool {
        try mutex.withLock { () throws(PostgresError) -> Bool in
            try connection.query(sql, [.integer(key)]).first?.first == .integer(1)
        }
    }

    private static func drainNotifications(_ handle: OpaquePointer) -> [PostgresNotification] {
        var received: [PostgresNotification] = []
        while let notification = PQnotifies(handle) {
            let channel = notification.pointee.relname.map { String(cString: $0) } ?? ""
            let payload = notification.pointee.extra.map { String(cString: $0) } ?? ""
            received.append(PostgresNotification(channel: channel, payload: payload))
            PQfreemem(notification)
        }
        return received
    }

    /// `name` as a double-quoted SQL identifier (LISTEN takes no parameters).
    static func quotedIdentifier(_ name: String) throws(PostgresError) -> String {
        guard !name.isEmpty, !name.utf8.contains(0) else {
            throw PostgresError.misuse("a channel name must be non-empty text without NUL")
        }
        return "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    private func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

/// One `NOTIFY` a session received: its channel and payload (`PostgresSession.notifications`).
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String

    public init(channel: String, payload: String) {
        self.channel = channel
        self.payload = payload
    }
}
