#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex at a stable address, so condition variables can wait on it.
///
/// `Synchronization.Mutex` cannot be paired with a condition variable, and the writer queue
/// and the reader pool both need to block threads without spinning.
///
/// `@unchecked Sendable`: the mutex lives in memory allocated once and never moved; every
/// operation is a pthread call that is itself thread-safe.
final class PThreadMutex: @unchecked Sendable {
    let raw: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        raw = .allocate(capacity: 1)
        raw.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(raw, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(raw)
        raw.deallocate()
    }

    func lock() {
        let rc = pthread_mutex_lock(raw)
        precondition(rc == 0, "pthread_mutex_lock failed: \(rc)")
    }

    func unlock() {
        let rc = pthread_mutex_unlock(raw)
        precondition(rc == 0, "pthread_mutex_unlock failed: \(rc)")
    }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A pthread condition variable, used with a `PThreadMutex`.
///
/// `@unchecked Sendable`: like the mutex, it sits at a fixed allocated address and is only
/// touched through thread-safe pthread calls.
final class PThreadCondition: @unchecked Sendable {
    let raw: UnsafeMutablePointer<pthread_cond_t>

    init() {
        raw = .allocate(capacity: 1)
        raw.initialize(to: pthread_cond_t())
        let rc = pthread_cond_init(raw, nil)
        precondition(rc == 0, "pthread_cond_init failed: \(rc)")
    }

    deinit {
        pthread_cond_destroy(raw)
        raw.deallocate()
    }

    /// Atomically unlocks `mutex` and sleeps until signalled (or spuriously woken: callers
    /// always re-check their predicate in a loop).
    func wait(_ mutex: PThreadMutex) {
        let rc = pthread_cond_wait(raw, mutex.raw)
        precondition(rc == 0, "pthread_cond_wait failed: \(rc)")
    }

    func signal() {
        pthread_cond_signal(raw)
    }

    func broadcast() {
        pthread_cond_broadcast(raw)
    }

    /// This thread's own condition, created on first use and freed when the thread exits.
    ///
    /// A thread waits for at most one write at a time, so one reusable condition per thread
    /// replaces a semaphore allocated per write.
    static var forCurrentThread: PThreadCondition {
        if let existing = pthread_getspecific(threadConditionKey) {
            return Unmanaged<PThreadCondition>.fromOpaque(existing).takeUnretainedValue()
        }
        let condition = PThreadCondition()
        pthread_setspecific(threadConditionKey, Unmanaged.passRetained(condition).toOpaque())
        return condition
    }
}

/// The thread-specific slot holding each thread's `PThreadCondition` (a +1 reference that the
/// destructor releases at thread exit).
private let threadConditionKey: pthread_key_t = {
    var key = pthread_key_t()
    let rc = pthread_key_create(&key) { pointer in
        guard let pointer else { return }
        Unmanaged<PThreadCondition>.fromOpaque(pointer).release()
    }
    precondition(rc == 0, "pthread_key_create failed: \(rc)")
    return key
}()
