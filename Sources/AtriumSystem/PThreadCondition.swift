import Glibc

/// A pthread condition variable used with a `PThreadMutex`, timed against the monotonic
/// clock (a wall-clock step must neither cut a wait short nor stretch it).
///
/// It exists so that one thread can be woken by name: the worker pool wakes the worker that
/// went idle last, and a caller of the SQLite writer sleeps on its own thread's condition
/// (`forCurrentThread`) rather than on a shared one.
///
/// `@unchecked Sendable`: like the mutex, the condition sits at an address allocated once in
/// `init` and never moved, and it is only touched through thread-safe pthread calls.
public final class PThreadCondition: @unchecked Sendable {
    @usableFromInline let raw: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        raw = .allocate(capacity: 1)
        raw.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        let rc = pthread_cond_init(raw, &attributes)
        pthread_condattr_destroy(&attributes)
        precondition(rc == 0, "pthread_cond_init failed: \(rc)")
    }

    deinit {
        pthread_cond_destroy(raw)
        raw.deallocate()
    }

    /// Atomically unlocks `mutex` (which the caller holds) and sleeps until signalled or
    /// spuriously woken: callers always re-check their predicate in a loop.
    @inlinable
    public func wait(_ mutex: PThreadMutex) {
        let rc = pthread_cond_wait(raw, mutex.raw)
        precondition(rc == 0, "pthread_cond_wait failed: \(rc)")
    }

    /// Like `wait(_:)`, but gives up after `nanoseconds`.
    public func wait(_ mutex: PThreadMutex, nanoseconds: UInt64) {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = UInt64(deadline.tv_nsec) + nanoseconds % 1_000_000_000
        deadline.tv_sec += Int(nanoseconds / 1_000_000_000) + Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_cond_timedwait(raw, mutex.raw, &deadline)
    }

    @inlinable
    public func signal() { pthread_cond_signal(raw) }

    @inlinable
    public func broadcast() { pthread_cond_broadcast(raw) }

    /// This thread's own condition, created on first use and freed when the thread exits.
    ///
    /// A thread waits for at most one thing at a time, so one reusable condition per thread
    /// replaces a semaphore allocated per wait.
    public static var forCurrentThread: PThreadCondition {
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
