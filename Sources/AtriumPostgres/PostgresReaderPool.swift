import AtriumSystem
import CLibPQ

/// A reader connection that reconnects lazily and runs bodies in a read-only snapshot.
final class PostgresReader {
    let connection: PostgresConnection
    private var needsReconnect = false

    init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// Runs `body` in one `REPEATABLE READ READ ONLY` transaction, so its statements see one
    /// snapshot. A body's error is rethrown unchanged after the rollback.
    ///
    /// Transaction control costs no round trip of its own: the `BEGIN` goes out with the
    /// body's first statement (which takes the snapshot, as it would after a separate
    /// `BEGIN`), and the `COMMIT` (or `ROLLBACK`) is sent without waiting; its answer is read
    /// with the next read's first statement. A read-only transaction has nothing to lose at
    /// COMMIT, and the server ends it as soon as the message arrives.
    func inSnapshot<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        if needsReconnect || !connection.isOpen {
            try connection.reconnect()
            needsReconnect = false
        }
        connection.beginLazily("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        let value: T
        do {
            value = try body(connection)
        } catch {
            end("ROLLBACK")
            throw error
        }
        end("COMMIT")
        return value
    }

    /// Ends the transaction with `sql` without waiting; a connection that cannot take it is
    /// reconnected before the next read.
    private func end(_ sql: String) {
        if connection.beginIsPending {
            connection.discardPendingBegin()  // no statement ran: there is no transaction
        } else if !connection.isOpen {
            needsReconnect = true
        } else {
            do { try connection.endWithoutWaiting(sql) } catch { needsReconnect = true }
        }
    }
}

/// The bounded pool of reader connections; `checkOut` blocks while every reader is busy.
///
/// `@unchecked Sendable`: `idle` and `closed` are only touched while holding `lock`. A
/// `PostgresReader` (not `Sendable`) is owned by one party at a time — the pool while it sits
/// in `idle`, or the one thread that checked it out until it checks it back in — and the
/// hand-over happens under the lock.
final class PostgresReaderPool: @unchecked Sendable {
    private let lock = ConditionLock()
    private var idle: [PostgresReader]
    private var closed = false

    init(_ readers: [PostgresReader]) {
        idle = readers
    }

    func checkOut() throws(PostgresError) -> PostgresReader {
        lock.lock()
        defer { lock.unlock() }
        while idle.isEmpty && !closed {
            lock.wait()
        }
        guard !closed, let reader = idle.popLast() else {
            throw PostgresError.misuse("the database is closed")
        }
        return reader
    }

    /// A reader if one is idle right now; never blocks.
    func tryCheckOut() -> PostgresReader? {
        lock.withLock { closed ? nil : idle.popLast() }
    }

    var isClosed: Bool {
        lock.withLock { closed }
    }

    func checkIn(_ reader: PostgresReader) {
        let keep = lock.withLock {
            if closed { return false }
            idle.append(reader)
            lock.signal()
            return true
        }
        if !keep {
            reader.connection.close()
        }
    }

    /// Closes the idle readers now and the busy ones when they come back. Idempotent.
    func close() {
        let readers = lock.withLock {
            closed = true
            lock.broadcast()
            let readers = idle
            idle.removeAll()
            return readers
        }
        for reader in readers {
            reader.connection.close()
        }
    }
}
