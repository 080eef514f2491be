import AtriumSystem

/// One write waiting in the writer pool's queue, seen without its result type.
///
/// `isDone` is guarded by the pool's lock; the result is written by the one writer thread that
/// took the job, before it sets `isDone` under that lock, and read by the caller only after it
/// sees `isDone` under the same lock (or inside the completion the writer thread calls).
protocol PostgresWriteJob: AnyObject, Sendable {
    var isDone: Bool { get set }
    /// Runs the body once on `connection`; true when it returned without throwing.
    func run(on connection: PostgresConnection) -> Bool
    /// Replaces the job's result with `error`.
    func fail(_ error: any Error)
    /// Tells the caller the job is over; called once, with the pool's lock released.
    func finish()
}

/// A write's body and, once a writer has run it, its result: what both kinds of job share.
///
/// `@unchecked Sendable`: it crosses from the calling thread to one writer thread through the
/// pool's lock. Only that writer thread writes `result` (in `run` and `fail`), before it sets
/// `isDone` under the lock; the caller reads `result` only after observing `isDone` under the
/// same lock (`BlockingPostgresWrite`) or inside the completion the writer thread calls
/// (`DeferredPostgresWrite`), so the two never access it concurrently. `body` is immutable.
class PostgresWriteBody<T: Sendable>: @unchecked Sendable {
    var isDone = false
    private let body: @Sendable (PostgresConnection) throws -> T
    private(set) var result: Result<T, any Error>?

    init(_ body: @escaping @Sendable (PostgresConnection) throws -> T) {
        self.body = body
    }

    func run(on connection: PostgresConnection) -> Bool {
        do {
            result = .success(try body(connection))
            return true
        } catch {
            result = .failure(error)
            return false
        }
    }

    func fail(_ error: any Error) {
        result = .failure(error)
    }

    var finalResult: Result<T, any Error> {
        result ?? .failure(PostgresError.misuse("write finished without a result"))
    }
}

/// A blocking `write` call: the caller sleeps on `waiter` until a writer is done with it.
final class BlockingPostgresWrite<T: Sendable>: PostgresWriteBody<T>, PostgresWriteJob, @unchecked Sendable {
    // @unchecked Sendable: see PostgresWriteBody; `waiter` is immutable.
    let waiter: PThreadCondition

    init(_ body: @escaping @Sendable (PostgresConnection) throws -> T, waiter: PThreadCondition) {
        self.waiter = waiter
        super.init(body)
    }

    func finish() {
        waiter.signal()
    }
}

/// A write whose caller does not wait: the writer thread hands the result to `completion`
/// once COMMIT has returned (so a success is durable when it is reported).
final class DeferredPostgresWrite<T: Sendable>: PostgresWriteBody<T>, PostgresWriteJob, @unchecked Sendable {
    // @unchecked Sendable: see PostgresWriteBody; `completion` is immutable.
    private let completion: @Sendable (Result<T, any Error>) -> Void

    init(_ body: @escaping @Sendable (PostgresConnection) throws -> T,
         completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        self.completion = completion
        super.init(body)
    }

    func finish() {
        completion(finalResult)
    }
}
