import AtriumSystem
/// A reader connection with its transaction statements prepared once.
final class Reader {
    let connection: SQLiteConnection
    private let begin: SQLiteStatement
    private let commit: SQLiteStatement
    private let rollback: SQLiteStatement

    init(_ connection: SQLiteConnection) throws(SQLiteError) {
        self.connection = connection
        begin = try connection.prepare("BEGIN")
        commit = try connection.prepare("COMMIT")
        rollback = try connection.prepare("ROLLBACK")
    }

    /// Runs `body` in one read transaction, so all its statements see one snapshot.
    func inSnapshot<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try begin.runToCompletion()
        let value: T
        do {
            value = try body(connection)
        } catch {
            end(rollback)
            throw error
        }
        connection.resetActiveStatements()
        do {
            try commit.runToCompletion()
        } catch {
            end(rollback)
            throw error
        }
        return value
    }

    private func end(_ statement: SQLiteStatement) {
        connection.resetActiveStatements()
        if !connection.isAutocommit {
            try? statement.runToCompletion()
        }
    }
}

/// The bounded pool of reader connections; `checkOut` blocks while every reader is busy.
///
/// `@unchecked Sendable`: `idle` and `closed` are only touched while holding `mutex`. A
/// `Reader` (not `Sendable`) is owned by exactly one party at a time — the pool while it sits
/// in `idle`, or the one thread that checked it out until it checks it back in — and the
/// hand-over happens under the mutex.
final class ReaderPool: @unchecked Sendable {
    private let mutex = PThreadMutex()
    private let available = PThreadCondition()
    private var idle: [Reader]
    private var closed = false

    init(_ readers: [Reader]) {
        idle = readers
    }

    func checkOut() throws(SQLiteError) -> Reader {
        mutex.lock()
        defer { mutex.unlock() }
        while idle.isEmpty && !closed {
            available.wait(mutex)
        }
        guard !closed, let reader = idle.popLast() else {
            throw SQLiteError.misuse("the database is closed")
        }
        return reader
    }

    /// A reader if one is idle right now; never blocks.
    func tryCheckOut() -> Reader? {
        mutex.withLock { closed ? nil : idle.popLast() }
    }

    var isClosed: Bool {
        mutex.withLock { closed }
    }

    func checkIn(_ reader: Reader) {
        let keep = mutex.withLock {
            if closed { return false }
            idle.append(reader)
            available.signal()
            return true
        }
        if !keep {
            reader.connection.close()
        }
    }

    /// Closes the idle readers now and the busy ones when they come back. Idempotent.
    func close() {
        let readers = mutex.withLock {
            closed = true
            available.broadcast()
            let readers = idle
            idle.removeAll()
            return readers
        }
        for reader in readers {
            reader.connection.close()
        }
    }
}
