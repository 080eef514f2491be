import Glibc

/// A pthread mutex at a stable address, so that condition variables can wait on it.
///
/// It exists because `Synchronization.Mutex` cannot be paired with a condition variable, and
/// the worker pool, the SQLite writer queue and reader pool, and the webhook dispatcher all
/// need to put threads to sleep without spinning. It is the one mutex of that kind in Atrium.
///
/// `@unchecked Sendable`: the mutex lives in memory allocated once in `init` and never moved
/// or reassigned; every operation on it is a pthread call, which is thread-safe by contract.
public final class PThreadMutex: @unchecked Sendable {
    @usableFromInline let raw: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        raw = .allocate(capacity: 1)
        raw.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(raw, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(raw)
        raw.deallocate()
    }

    @inlinable
    public func lock() {
        let rc = pthread_mutex_lock(raw)
        precondition(rc == 0, "pthread_mutex_lock failed: \(rc)")
    }

    @inlinable
    public func unlock() {
        let rc = pthread_mutex_unlock(raw)
        precondition(rc == 0, "pthread_mutex_unlock failed: \(rc)")
    }

    @inlinable
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
