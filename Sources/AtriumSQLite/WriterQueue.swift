import AtriumSystem
import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The single writer thread and its queue: group commit.
///
/// Callers enqueue a job and either sleep on their own thread's condition (`submit`) or
/// leave a completion for the writer thread to call (`enqueue`). The writer takes every
/// waiting job (up to `maxBatchSize`), runs them in one `BEGIN IMMEDIATE … COMMIT` with a
/// savepoint around each, so one fsync makes the whole batch durable while a failing job
/// rolls back only its own savepoint. Callers are woken, and completions called, only after
/// COMMIT returns.
///
/// `@unchecked Sendable`: `pending`, `accepting`, `writerIsWaiting` and `stopped` are only
/// read or written while holding `mutex`. `connection` and the control statements are used
/// only by the writer thread once it starts (the initializer's thread hands them over before
/// `pthread_create`, which is a synchronization point, and never touches them again).
final class WriterQueue: @unchecked Sendable {
    private let mutex = PThreadMutex()
    private let writerWakeUp = PThreadCondition()
    private let stoppedCondition = PThreadCondition()
    private var pending: [any WriteJob] = []
    private var accepting = true
    private var writerIsWaiting = false
    private var stopped = false
    /// Told after a COMMIT whose transaction asked for it; read under `mutex`.
    private var commitObservers: [@Sendable () -> Void] = []

    private let connection: SQLiteConnection
    private let maxBatchSize: Int
    private let counters: SQLiteCounters
    private let begin: SQLiteStatement
    private let commit: SQLiteStatement
    private let rollback: SQLiteStatement
    private let savepoint: SQLiteStatement
    private let release: SQLiteStatement
    private let rollbackToSavepoint: SQLiteStatement

    init(connection: SQLiteConnection, maxBatchSize: Int, counters: SQLiteCounters) throws(SQLiteError) {
        self.connection = connection
        self.maxBatchSize = max(1, maxBatchSize)
        self.counters = counters
        begin = try connection.prepare("BEGIN IMMEDIATE")
        commit = try connection.prepare("COMMIT")
        rollback = try connection.prepare("ROLLBACK")
        savepoint = try connection.prepare("SAVEPOINT atrium_write")
        release = try connection.prepare("RELEASE atrium_write")
        rollbackToSavepoint = try connection.prepare("ROLLBACK TO atrium_write")
    }

    /// Starts the (detached) writer thread.
    func start() throws(SQLiteError) {
        do {
            try OSThread.start(name: "atrium-writer", detached: true) { [self] in runLoop() }
        } catch {
            throw SQLiteError(code: SQLITE_ERROR, message: "cannot start the writer thread (error \(error.code))")
        }
    }

    // MARK: Callers

    func addCommitObserver(_ observer: @escaping @Sendable () -> Void) {
        mutex.lock()
        commitObservers.append(observer)
        mutex.unlock()
    }

    /// Enqueues `job` and blocks until the writer has committed (or failed) it.
    func submit<T>(_ job: PendingWrite<T>) throws(SQLiteError) {
        if isWriterThread {
            throw SQLiteError.misuse("write called from inside a write body (it would wait for itself)")
        }
        mutex.lock()
        defer { mutex.unlock() }
        try appendLocked(job)
        while !job.isDone {
            job.waiter.wait(mutex)
        }
    }

    /// Enqueues `job` and returns at once; the writer thread calls `job.finish()` after its
    /// batch. Safe from any thread, the writer's own included (nothing waits).
    func enqueue(_ job: any WriteJob) throws(SQLiteError) {
        mutex.lock()
        defer { mutex.unlock() }
        try appendLocked(job)
    }

    private func appendLocked(_ job: any WriteJob) throws(SQLiteError) {
        guard accepting else { throw SQLiteError.misuse("the database is closed") }
        pending.append(job)
        if writerIsWaiting {
            writerWakeUp.signal()
        }
    }

    /// Stops accepting writes, lets the writer finish the queued ones and close its
    /// connection, and waits for that (unless called from a write body). Idempotent.
    func close() {
        mutex.lock()
        defer { mutex.unlock() }
        accepting = false
        writerWakeUp.signal()
        if isWriterThread { return }
        while !stopped {
            stoppedCondition.wait(mutex)
        }
    }

    /// Writes waiting for the writer (not counting the batch it is running).
    var pendingCount: Int {
        mutex.withLock { pending.count }
    }

    /// True while the writer thread runs and takes writes.
    var isAlive: Bool {
        mutex.withLock { accepting && !stopped }
    }

    var isWriterThread: Bool {
        pthread_getspecific(writerThreadKey) == Unmanaged.passUnretained(self).toOpaque()
    }

    // MARK: The writer thread

    private func runLoop() {
        pthread_setspecific(writerThreadKey, Unmanaged.passUnretained(self).toOpaque())
        var batch: [any WriteJob] = []
        batch.reserveCapacity(maxBatchSize)
        mutex.lock()
        while true {
            while pending.isEmpty && accepting {
                writerIsWaiting = true
                writerWakeUp.wait(mutex)
                writerIsWaiting = false
            }
            if pending.isEmpty { break }  // closed and drained
            if pending.count <= maxBatchSize {
                swap(&batch, &pending)
            } else {
                batch.append(contentsOf: pending[..<maxBatchSize])
                pending.removeFirst(maxBatchSize)
            }
            mutex.unlock()

            process(batch)

            mutex.lock()
            for job in batch {
                job.isDone = true
            }
            // Finish after unlocking, so a woken caller does not block at once on the mutex.
            // A waiting caller sees `isDone` or is already asleep on its condition when we
            // signal; `batch` keeps each job (and its condition) alive until then.
            mutex.unlock()
            for job in batch {
                job.finish()
            }
            batch.removeAll(keepingCapacity: true)
            mutex.lock()
        }
        mutex.unlock()
        // Move the whole log into the database file before closing, so a closed store is one
        // self-contained file (a copy of atrium.db, or a damaged one, is what it looks like)
        // whichever connection happens to close last. Best effort: a reader still in a
        // transaction only makes the checkpoint partial.
        try? connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        pthread_setspecific(writerThreadKey, nil)
        mutex.withLock {
            stopped = true
            stoppedCondition.broadcast()
        }
    }

    /// Runs one batch: one transaction, a savepoint per job, one COMMIT.
    ///
    /// Some errors (`SQLITE_FULL`, an I/O error) make SQLite roll the whole transaction back,
    /// not just the failing statement: the jobs that had already succeeded in it are then
    /// undone through no fault of their own, so they run once more in a new transaction
    /// (before the rest of the batch); only a job undone twice gets the error.
    private func process(_ batch: [any WriteJob]) {
        counters.batches.add(1, ordering: .relaxed)
        counters.writes.add(batch.count, ordering: .relaxed)
        if batch.count > counters.largestBatch.load(ordering: .relaxed) {
            counters.largestBatch.store(batch.count, ordering: .relaxed)
        }
        var queue = batch
        var rerun = Set<ObjectIdentifier>()
        // Jobs since the current transaction began: they share its fate.
        var segment: [any WriteJob] = []
        var inTransaction = false
        var index = 0
        while index < queue.count {
            let job = queue[index]
            if !inTransaction {
                do {
                    try begin.runToCompletion()
                } catch {
                    fail(queue[index...], with: error)
                    break
                }
                inTransaction = true
                segment.removeAll(keepingCapacity: true)
                connection.commitNotificationRequested = false
            }
            index += 1
            runInSavepoint(job)
            segment.append(job)
            guard connection.isAutocommit else { continue }
            // An error made SQLite roll the whole transaction back (or a body ended it).
            inTransaction = false
            let error = SQLiteError(
                code: SQLITE_ABORT,
                message: "the write transaction was rolled back by a failing write in the same batch")
            if job.succeeded { job.fail(error) }
            var again: [any WriteJob] = []
            for undone in segment.dropLast() where undone.succeeded {
                if rerun.insert(ObjectIdentifier(undone)).inserted {
                    again.append(undone)
                } else {
                    undone.fail(error)
                }
            }
            queue.insert(contentsOf: again, at: index)
        }
        if inTransaction {
            commitSegment(segment[...])
        }
        let failures = batch.reduce(0) { $0 + ($1.succeeded ? 0 : 1) }
        counters.failedWrites.add(failures, ordering: .relaxed)
    }

    /// Runs one job between `SAVEPOINT` and `RELEASE`; on failure rolls back to the savepoint.
    private func runInSavepoint(_ job: any WriteJob) {
        do {
            try savepoint.runToCompletion()
        } catch {
            job.fail(error)
            return
        }
        job.run(on: connection)
        connection.resetActiveStatements()
        if job.succeeded, let violation = connection.deferredForeignKeyViolation() {
            job.fail(violation)
        }
        if job.succeeded {
            do {
                try release.runToCompletion()
                return
            } catch {
                job.fail(error)
            }
        }
        guard !connection.isAutocommit else { return }
        do {
            try rollbackToSavepoint.runToCompletion()
            try release.runToCompletion()
        } catch {
            // The savepoint cannot be undone: abandon the whole transaction instead, which
            // `process` sees as autocommit mode and reports to this transaction's jobs.
            try? rollback.runToCompletion()
        }
    }

    private func commitSegment(_ jobs: ArraySlice<any WriteJob>) {
        let start = monotonicNanoseconds()
        do {
            try commit.runToCompletion()
            counters.commits.add(1, ordering: .relaxed)
            if connection.commitNotificationRequested {
                connection.commitNotificationRequested = false
                mutex.lock()
                let observers = commitObservers
                mutex.unlock()
                for observer in observers { observer() }
            }
        } catch {
            if !connection.isAutocommit {
                try? rollback.runToCompletion()
            }
            fail(jobs.lazy.filter(\.succeeded), with: error)
        }
        counters.commitNanoseconds.add(monotonicNanoseconds() &- start, ordering: .relaxed)
    }

    private func fail<S: Sequence>(_ jobs: S, with error: any Error) where S.Element == any WriteJob {
        for job in Array(jobs) {
            job.fail(error)
        }
    }
}

/// Marks the writer thread, so a nested `write` is refused instead of deadlocking.
private let writerThreadKey: pthread_key_t = {
    var key = pthread_key_t()
    let rc = pthread_key_create(&key, nil)
    precondition(rc == 0, "pthread_key_create failed: \(rc)")
    return key
}()

func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}
