/// A mutex with one shared condition variable: the monitor a pool of threads and the thread
/// feeding it agree on (the worker pool's queue, the webhook dispatcher and its workers).
///
/// It exists so that code guarding state with a lock and sleeping on that state's changes
/// says so in one object instead of pairing a `PThreadMutex` and a `PThreadCondition` by hand.
/// A thread that must be woken alone waits on a condition of its own (`wait(on:)`).
///
/// `@unchecked Sendable`: it holds only a `PThreadMutex` and a `PThreadCondition`, both
/// immutable references to thread-safe objects.
public final class ConditionLock: @unchecked Sendable {
    @usableFromInline let mutex = PThreadMutex()
    @usableFromInline let condition = PThreadCondition()

    public init() {}

    @inlinable public func lock() { mutex.lock() }
    @inlinable public func unlock() { mutex.unlock() }

    /// Waits for a signal; the lock must be held.
    @inlinable public func wait() { condition.wait(mutex) }

    /// Waits for a signal or until `nanoseconds` pass; the lock must be held.
    public func wait(nanoseconds: UInt64) { condition.wait(mutex, nanoseconds: nanoseconds) }

    /// Waits on `other` (one waiting thread's own condition) instead of the shared one; the
    /// lock must be held.
    @inlinable public func wait(on other: PThreadCondition) { other.wait(mutex) }

    @inlinable public func signal() { condition.signal() }
    @inlinable public func broadcast() { condition.broadcast() }

    @inlinable
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        mutex.lock()
        defer { mutex.unlock() }
        return try body()
    }
}
