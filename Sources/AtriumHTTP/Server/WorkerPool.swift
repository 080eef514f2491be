import AtriumSystem
import Glibc

/// A fixed set of threads for work that may block (SQLite, password hashing), so the event
/// loops never block. Bounded: at most `capacity` jobs wait; beyond that `submit` reports
/// the pool as saturated and the caller answers 503 instead of queueing without end.
///
/// Waiting jobs are queued per tenant and taken in turn (`FairQueue`), so one tenant's flood
/// waits behind its own requests, not in front of everyone else's; a tenant may hold at most
/// `tenantCapacity` waiting jobs. Jobs submitted without a tenant share one lane (first in,
/// first out), which is also what a pool built with `fair: false` does with every job.
///
/// Idle threads sleep on conditions of their own, kept as a stack: a submit wakes exactly as
/// many as it has new jobs, the most recently idle first, and signals them after releasing
/// the lock, so a woken thread neither finds the lock taken nor competes with the others.
/// Under a steady load a few warm threads do the work and the rest stay asleep.
public final class WorkerPool: @unchecked Sendable {
    // @unchecked Sendable: `queue`, `stopping`, `sleepers`, `threads` and every
    // `Sleeper.woken` are only touched with `lock` held; `name`, `capacity` and `fair` are
    // immutable.
    private let lock = ConditionLock()
    private var queue: FairQueue<@Sendable () -> Void>
    private var stopping = false
    /// Threads waiting for work, the most recently idle last.
    private var sleepers: [Sleeper] = []
    private var threads: [pthread_t] = []
    public let capacity: Int
    /// False: every job waits in one lane, first in, first out.
    public let fair: Bool
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
    ///   - tenantCapacity: how many of them one tenant may have waiting (default: all).
    ///   - fair: queue per tenant and serve in turn; false puts every job in one lane.
    public init(name: String, threadCount: Int, capacity: Int, tenantCapacity: Int? = nil, fair: Bool = true) {
        self.name = name
        self.capacity = max(1, capacity)
        self.fair = fair
        self.queue = FairQueue(capacity: self.capacity, tenantCapacity: fair ? tenantCapacity ?? capacity : capacity)
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

    /// Queues as many of `jobs` as fit (in order, in the shared lane); returns how many.
    public func submit(batch jobs: [@Sendable () -> Void]) -> Int {
        let refusals = submit(tenantJobs: jobs.map { (0, $0) })
        return refusals.firstIndex { $0 != nil } ?? jobs.count
    }

    /// Queues each job in its tenant's lane under one lock, waking only as many idle threads
    /// as there are new jobs; returns, for each job, why it was refused (nil: queued).
    public func submit(tenantJobs jobs: [(tenant: UInt64, job: @Sendable () -> Void)]) -> [FairQueue<Int>.Refusal?] {
        lock.lock()
        if stopping {
            lock.unlock()
            return jobs.map { _ in .full }
        }
        var refusals: [FairQueue<Int>.Refusal?] = []
        refusals.reserveCapacity(jobs.count)
        var accepted = 0
        for (tenant, job) in jobs {
            switch queue.enqueue(job, tenant: fair ? tenant : 0) {
            case nil:
                accepted += 1
                refusals.append(nil)
            case .full:
                refusals.append(.full)
            case .tenantShare:
                refusals.append(.tenantShare)
            }
        }
        let wakeCount = min(accepted, sleepers.count)
        if wakeCount == 0 {
            lock.unlock()
            return refusals
        }
        if wakeCount == 1 {
            let sleeper = sleepers.removeLast()
            sleeper.woken = true
            lock.unlock()
            sleeper.condition.signal()
            return refusals
        }
        let woken = Array(sleepers.suffix(wakeCount))
        sleepers.removeLast(wakeCount)
        for sleeper in woken { sleeper.woken = true }
        lock.unlock()
        for sleeper in woken { sleeper.condition.signal() }
        return refusals
    }

    /// Jobs waiting for a thread.
    public var waitingCount: Int { lock.withLock { queue.count } }

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
            while queue.count == 0 && !stopping {
                me.woken = false
                sleepers.append(me)
                repeat {
                    lock.wait(on: me.condition)
                } while !me.woken
            }
            if queue.count == 0 && stopping {
                lock.unlock()
                return
            }
            let job = queue.dequeue()
            lock.unlock()
            job?()
        }
    }
}
