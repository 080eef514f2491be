import CAtriumSystem
import Glibc

/// A pthread mutex with a condition variable, for the few blocking hand-offs the server
/// needs (the worker pool's queue). `Synchronization.Mutex` has no condition variable.
///
/// `@unchecked Sendable`: the pthread objects are heap-allocated once, never moved, and
/// every access to state guarded by them goes through `pthread_mutex_lock`/`unlock`.
public final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits for a signal; the lock must be held.
    public func wait() { pthread_cond_wait(condition, mutex) }
    /// Waits for a signal or until `nanoseconds` pass; the lock must be held.
    public func wait(nanoseconds: UInt64) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let total = UInt64(now.tv_nsec) + nanoseconds % 1_000_000_000
        var deadline = timespec()
        deadline.tv_sec = now.tv_sec + Int(nanoseconds / 1_000_000_000) + Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_cond_timedwait(condition, mutex, &deadline)
    }
    public func signal() { pthread_cond_signal(condition) }
    public func broadcast() { pthread_cond_broadcast(condition) }
    /// Waits on `other` (a condition of one waiting thread) instead of the shared one; the
    /// lock must be held.
    public func wait(on other: ThreadCondition) { pthread_cond_wait(other.condition, mutex) }

    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A condition variable for one thread to sleep on under a `ConditionLock`, so that the
/// thread that wakes it picks exactly which sleeper runs (the worker pool wakes the one that
/// went idle last, whose cache is warmest, and no other).
///
/// `@unchecked Sendable`: the pthread object is heap-allocated once and never moved; waits
/// go through the owning `ConditionLock`'s mutex.
public final class ThreadCondition: @unchecked Sendable {
    fileprivate let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        condition = .allocate(capacity: 1)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    public func signal() { pthread_cond_signal(condition) }
}

/// Starts detached-free OS threads running a closure; the event loops and workers are
/// long-lived threads, not tasks, so that no request ever waits on a cooperative pool.
public enum OSThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Spawns a thread and returns its handle for `join`.
    @discardableResult
    public static func spawn(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t {
        let box = Unmanaged.passRetained(Box {
            atrium_set_thread_name(name)
            body()
        }).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        return thread
    }

    public static func join(_ thread: pthread_t) {
        pthread_join(thread, nil)
    }
}
