import Glibc

/// A fixed set of threads for work that may block (SQLite, password hashing), so the event
/// loops never block. Bounded: at most `capacity` jobs wait; beyond that `submit` reports
/// the pool as saturated and the caller answers 503 instead of queueing without end.
public final class WorkerPool: @unchecked Sendable {
    // @unchecked Sendable: `queue`, `head`, `stopping` and `threads` are only touched with
    // `lock` held; `name` and `capacity` are immutable.
    private let lock = ConditionLock()
    private var queue: [(@Sendable () -> Void)?]
    private var head = 0
    private var count = 0
    private var stopping = false
    /// Threads waiting for work: a submit wakes at most this many.
    private var idle = 0
    private var threads: [pthread_t] = []
    public let capacity: Int
    private let name: String

    /// - Parameters:
    ///   - threadCount: how many threads run jobs.
    ///   - capacity: how many jobs may wait before `submit` refuses.
    public init(name: String, threadCount: Int, capacity: Int) {
        self.name = name
        self.capacity = max(1, capacity)
        self.queue = Array(repeating: nil, count: self.capacity)
        let n = max(1, threadCount)
        var started: [pthread_t] = []
        for index in 0..<n {
            started.append(OSThread.spawn(name: "\(name)-\(index)") { [unowned self] in self.run() })
        }
        lock.withLock { threads = started }
    }

    /// Queues a job; false when the queue is full or the pool is stopping.
    @discardableResult
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        lock.lock()
        if stopping || count == capacity {
            lock.unlock()
            return false
        }
        queue[(head + count) % capacity] = job
        count += 1
        if idle > 0 { lock.signal() }
        lock.unlock()
        return true
    }

    /// Queues as many of `jobs` as fit (in order) under one lock, waking only as many idle
    /// threads as there are new jobs; returns how many were accepted.
    public func submit(batch jobs: [@Sendable () -> Void]) -> Int {
        lock.lock()
        if stopping {
            lock.unlock()
            return 0
        }
        let accepted = min(jobs.count, capacity - count)
        for index in 0..<accepted {
            queue[(head + count) % capacity] = jobs[index]
            count += 1
        }
        if accepted >= idle {
            if idle > 0 { lock.broadcast() }
        } else {
            for _ in 0..<accepted { lock.signal() }
        }
        lock.unlock()
        return accepted
    }

    /// Runs the queued jobs, then stops every thread and waits for them.
    public func shutdown() {
        let toJoin: [pthread_t] = lock.withLock {
            stopping = true
            lock.broadcast()
            let t = threads
            threads = []
            return t
        }
        for thread in toJoin { OSThread.join(thread) }
    }

    private func run() {
        while true {
            lock.lock()
            while count == 0 && !stopping {
                idle += 1
                lock.wait()
                idle -= 1
            }
            if count == 0 && stopping {
                lock.unlock()
                return
            }
            let job = queue[head]
            queue[head] = nil
            head = (head + 1) % capacity
            count -= 1
            lock.unlock()
            job?()
        }
    }
}
