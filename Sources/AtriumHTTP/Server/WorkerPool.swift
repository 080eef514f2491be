import AtriumSystem
import Glibc

/// A fixed set of threads for work that may block (SQLite, password hashing), so the event
/// loops never block. Bounded: at most `capacity` jobs wait; beyond that `submit` reports
/// the pool as saturated and the caller answers 503 instead of queueing without end.
///
/// Idle threads sleep on conditions of their own, kept as a stack: a submit wakes exactly as
/// many as it has new jobs, the most recently idle first, and signals them after releasing
/// the lock, so a woken thread neither finds the lock taken nor competes with the others.
/// Under a steady load a few warm threads do the work and the rest stay asleep.
public final class WorkerPool: @unchecked Sendable {
    // @unchecked Sendable: `queue`, `head`, `count`, `stopping`, `sleepers`, `threads` and
    // every `Sleeper.woken` are only touched with `lock` held; `name` and `capacity` are
    // immutable.
    private let lock = ConditionLock()
    private var queue: [(@Sendable () -> Void)?]
    private var head = 0
    private var count = 0
    private var stopping = false
    /// Threads waiting for work, the most recently idle last.
    private var sleepers: [Sleeper] = []
    private var threads: [pthread_t] = []
    public let capacity: Int
    private let name: String

    /// One idle thread's place to sleep.
    private final class Sleeper: Sendable {
        let condition = PThreadCondition()
        // Guarded by the pool's lock (see the pool's Sendable note); `nonisolated(unsafe)`
        // because the compiler cannot see that lock.
        nonisolated(unsafe) var woken = false
    }

    /// - Parameters:
    ///   - threadCount: how many threads run jobs.
    ///   - capacity: how many jobs may wait before `submit` refuses.
    public init(name: String, threadCount: Int, capacity: Int) {
        self.name = name
        self.capacity = max(1, capacity)
        self.queue = Array(repeating: nil, count: self.capacity)
        let n = max(1, threadCount)
        sleepers.reserveCapacity(n)
        var started: [pthread_t] = []
        for index in 0..<n {
            started.append(OSThread.spawn(name: "\(name)-\(index)") { [unowned self] in self.run() })
        }
        lock.withLock { threads = started }
    }

    /// Queues a job; false when the queue is full or the pool is stopping.
    @discardableResult
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        submit(batch: [job]) == 1
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
        let wakeCount = min(accepted, sleepers.count)
        if wakeCount == 0 {
            lock.unlock()
            return accepted
        }
        if wakeCount == 1 {
            let sleeper = sleepers.removeLast()
            sleeper.woken = true
            lock.unlock()
            sleeper.condition.signal()
            return accepted
        }
        let woken = Array(sleepers.suffix(wakeCount))
        sleepers.removeLast(wakeCount)
        for sleeper in woken { sleeper.woken = true }
        lock.unlock()
        for sleeper in woken { sleeper.condition.signal() }
        return accepted
    }

    /// Runs the queued jobs, then stops every thread and waits for them.
    public func shutdown() {
        let (toJoin, toWake): ([pthread_t], [Sleeper]) = lock.withLock {
            stopping = true
            let sleeping = sleepers
            sleepers = []
            for sleeper in sleeping { sleeper.woken = true }
            let t = threads
            threads = []
            return (t, sleeping)
        }
        for sleeper in toWake { sleeper.condition.signal() }
        for thread in toJoin { OSThread.join(thread) }
    }

    private func run() {
        let me = Sleeper()
        while true {
            lock.lock()
            while count == 0 && !stopping {
                me.woken = false
                sleepers.append(me)
                repeat {
                    lock.wait(on: me.condition)
                } while !me.woken
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
