import AtriumSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The writer threads and their shared FIFO queue.
///
/// Unlike SQLite's single group-committing writer, PostgreSQL takes concurrent writers and
/// shares WAL flushes by itself, so `writerCount` threads each own one connection and take
/// jobs in arrival order, one transaction per job. Callers either sleep on their own thread's
/// condition (`submit`) or leave a completion for the writer thread (`enqueue`).
///
/// `@unchecked Sendable`: `queue`, `head`, `accepting`, `running` and `commitObservers` are
/// only read or written while holding `lock`. Each `PostgresWriter` is handed to its thread
/// before `pthread_create` (a synchronization point) and touched by that thread alone after.
final class PostgresWriterPool: @unchecked Sendable {
    private let lock = ConditionLock()
    private let stoppedCondition = PThreadCondition()
    private var queue: [any PostgresWriteJob] = []
    /// Index of the oldest job in `queue` (taken jobs before it are compacted away in bulk).
    private var head = 0
    private var accepting = true
    private var running = 0
    private let writerCount: Int
    private var commitObservers: [@Sendable () -> Void] = []
    private let maxRetries: Int
    private let counters: PostgresCounters

    init(writers: [PostgresWriter], maxRetries: Int, counters: PostgresCounters) throws(PostgresError) {
        self.maxRetries = max(0, maxRetries)
        self.counters = counters
        writerCount = writers.count
        for (index, writer) in writers.enumerated() {
            let box = WriterBox(writer)
            do {
                try OSThread.start(name: "atrium-pg-writer-\(index)", detached: true) { [self] in
                    runLoop(box.take())
                }
            } catch {
                close()
                throw PostgresError.misuse("cannot start a writer thread (error \(error.code))")
            }
            lock.withLock { running += 1 }
        }
    }

    // MARK: Callers

    func addCommitObserver(_ observer: @escaping @Sendable () -> Void) {
        lock.withLock { commitObservers.append(observer) }
    }

    /// Enqueues `job` and blocks until a writer has committed (or failed) it.
    func submit<T>(_ job: BlockingPostgresWrite<T>) throws(PostgresError) {
        if isWriterThread {
            throw PostgresError.misuse("write called from inside a write body (it would wait for itself)")
        }
        lock.lock()
        defer { lock.unlock() }
        try appendLocked(job)
        while !job.isDone {
            lock.wait(on: job.waiter)
        }
    }

    /// Enqueues `job` and returns at once. Safe from any thread, a writer's own included.
    func enqueue(_ job: any PostgresWriteJob) throws(PostgresError) {
        lock.lock()
        defer { lock.unlock() }
        try appendLocked(job)
    }

    private func appendLocked(_ job: any PostgresWriteJob) throws(PostgresError) {
        guard accepting, running > 0 else { throw PostgresError.misuse("the database is closed") }
        queue.append(job)
        lock.signal()
    }

    /// Stops accepting writes, lets the writers finish the queued ones and close their
    /// connections, and waits for that (unless called from a writer thread). Idempotent.
    func close() {
        lock.lock()
        defer { lock.unlock() }
        accepting = false
        lock.broadcast()
        if isWriterThread { return }
        while running > 0 {
            lock.wait(on: stoppedCondition)
        }
    }

    /// Writes waiting for a writer (not counting those being run).
    var pendingCount: Int {
        lock.withLock { queue.count - head }
    }

    /// True while every writer thread runs and the pool takes writes.
    var isAlive: Bool {
        lock.withLock { accepting && running == writerCount }
    }

    var isWriterThread: Bool {
        pthread_getspecific(postgresWriterKey) == Unmanaged.passUnretained(self).toOpaque()
    }

    // MARK: The writer threads

    private func runLoop(_ writer: PostgresWriter) {
        pthread_setspecific(postgresWriterKey, Unmanaged.passUnretained(self).toOpaque())
        lock.lock()
        while true {
            while head == queue.count && accepting {
                lock.wait()
            }
            if head == queue.count { break }  // closed and drained
            let job = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
            lock.unlock()

            let notify = perform(job, on: writer)

            lock.lock()
            job.isDone = true
            let observers = notify ? commitObservers : []
            lock.unlock()
            for observer in observers { observer() }
            job.finish()
            lock.lock()
        }
        lock.unlock()
        writer.connection.close()
        pthread_setspecific(postgresWriterKey, nil)
        lock.withLock {
            running -= 1
            stoppedCondition.broadcast()
        }
    }

    /// Runs `job` to its end (retries included); true when it committed and asked for the
    /// commit observers.
    private func perform(_ job: any PostgresWriteJob, on writer: PostgresWriter) -> Bool {
        counters.writes.add(1, ordering: .relaxed)
        var retries = 0
        while true {
            switch writer.attempt(job, retryUniqueViolation: retries == 0) {
            case .committed(let notify):
                counters.commits.add(1, ordering: .relaxed)
                return notify
            case .retry(let error):
                guard retries < maxRetries else {
                    job.fail(error)
                    counters.failedWrites.add(1, ordering: .relaxed)
                    return false
                }
                retries += 1
                counters.retries.add(1, ordering: .relaxed)
                backOff(retries)
            case .failed:
                counters.failedWrites.add(1, ordering: .relaxed)
                return false
            }
        }
    }

    /// Sleeps a random 0.1…(1 << attempt) ms, at most 50 ms, so colliding writers drift apart.
    private func backOff(_ attempt: Int) {
        let ceiling = min(50_000, 1_000 << min(attempt, 6))
        usleep(UInt32(Int.random(in: 100...ceiling)))
    }
}

/// Hands one writer (not `Sendable`) to the thread that will own it.
///
/// `@unchecked Sendable`: `take` is called exactly once, by the new thread, after
/// `pthread_create` has published the box; nothing else touches `writer`.
private final class WriterBox: @unchecked Sendable {
    private let writer: PostgresWriter
    init(_ writer: PostgresWriter) { self.writer = writer }
    func take() -> PostgresWriter { writer }
}

/// Marks writer threads, so a nested blocking `write` is refused instead of deadlocking.
private let postgresWriterKey: pthread_key_t = {
    var key = pthread_key_t()
    let rc = pthread_key_create(&key, nil)
    precondition(rc == 0, "pthread_key_create failed: \(rc)")
    return key
}()
