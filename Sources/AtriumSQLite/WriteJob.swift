import AtriumSystem
import CSQLite

/// One write waiting in the writer's queue, seen without its result type.
///
/// `isDone` is guarded by the writer queue's mutex; the result is written by the writer
/// thread before `isDone` is set and read by the caller only after it sees `isDone` under
/// the same mutex (or, for a deferred write, in the completion the writer thread calls).
protocol WriteJob: AnyObject, Sendable {
    var isDone: Bool { get set }
    /// True when the body has run and returned without throwing (and no failure replaced it).
    var succeeded: Bool { get }
    /// Runs the body on the writer connection and keeps its result or error.
    func run(on connection: SQLiteConnection)
    /// Replaces the job's result with `error` (its savepoint or its batch's commit failed).
    func fail(_ error: any Error)
    /// Tells the caller the job is over. Called by the writer thread once per job, after
    /// `isDone` is set and with the queue's mutex released.
    func finish()
}

/// A write's body and, once the writer has run it, its result: what both kinds of job share.
///
/// `@unchecked Sendable`: it crosses from the calling thread to the writer thread through the
/// writer queue's mutex. Only the writer thread writes `result` (in `run` and `fail`), before
/// it sets `isDone` under that mutex; the caller reads it only after observing `isDone` under
/// the same mutex (`PendingWrite`) or inside the completion the writer thread calls
/// (`DeferredWrite`), so the two never access it concurrently. `body` is immutable.
class WriteBody<T: Sendable>: @unchecked Sendable {
    var isDone = false
    private let body: @Sendable (SQLiteConnection) throws -> T
    private(set) var result: Result<T, any Error>?

    init(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) {
        self.body = body
    }

    var succeeded: Bool {
        if case .success? = result { return true }
        return false
    }

    func run(on connection: SQLiteConnection) {
        result = Result { try body(connection) }
    }

    func fail(_ error: any Error) {
        result = .failure(error)
    }
}

/// A blocking `write` call: the caller sleeps on `waiter` until the writer is done with it.
final class PendingWrite<T: Sendable>: WriteBody<T>, WriteJob, @unchecked Sendable {
    // @unchecked Sendable: see WriteBody; `waiter` is immutable.
    /// The calling thread's condition, signalled when the job is done.
    let waiter: PThreadCondition

    init(_ body: @escaping @Sendable (SQLiteConnection) throws -> T, waiter: PThreadCondition) {
        self.waiter = waiter
        super.init(body)
    }

    func finish() {
        waiter.signal()
    }
}

/// A write whose caller does not wait: the writer thread hands the result to `completion`
/// once the batch's COMMIT has returned (so a success is durable when it is reported).
final class DeferredWrite<T: Sendable>: WriteBody<T>, WriteJob, @unchecked Sendable {
    // @unchecked Sendable: see WriteBody; `completion` is immutable.
    private let completion: @Sendable (Result<T, any Error>) -> Void

    init(_ body: @escaping @Sendable (SQLiteConnection) throws -> T,
         completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        self.completion = completion
        super.init(body)
    }

    func finish() {
        completion(result ?? .failure(SQLiteError(code: SQLITE_INTERNAL, message: "write finished without a result")))
    }
}
