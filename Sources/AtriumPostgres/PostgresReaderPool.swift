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
    func inSnapshot<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        if needsReconnect || !connection.isOpen {
            try connection.reconnect()
            needsReconnect = false
        }
        do {
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        } catch {
            needsReconnect = error.isConnectionLost
            throw error
        }
        let value: T
        do {
            value = try body(connection)
        } catch {
            end()
            throw error
        }
        do {
            try connection.execute("COMMIT")
        } catch {
            end()
            throw error
        }
        return value
    }

    private func end() {
        if !connection.isOpen {
            needsReconnect = true
        } else if connection.transactionStatus != PQTRANS_IDLE {
            do { try connection.execute("ROLLBACK") } catch { needsReconnect = true }
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
