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

/// A blocking `write` call and, once the writer has run it, its result.
///
/// `@unchecked Sendable`: it crosses from the calling thread to the writer thread and back
/// through the writer queue's mutex. The calling thread never touches `result` until it
/// observes `isDone == true` while holding that mutex, and the writer thread never touches
/// the job after setting `isDone` under it (`finish` only signals the immutable `waiter`),
/// so the two never access it concurrently.
final class PendingWrite<T: Sendable>: WriteJob, @unchecked Sendable {
    /// The calling thread's condition, signalled when the job is done.
    let waiter: PThreadCondition
    var isDone = false
    private let body: @Sendable (SQLiteConnection) throws -> T
    private(set) var result: Result<T, any Error>?

    init(_ body: @escaping @Sendable (SQLiteConnection) throws -> T, waiter: PThreadCondition) {
        self.body = body
        self.waiter = waiter
    }

    var succeeded: Bool { result.isSuccess() }

    func run(on connection: SQLiteConnection) {
        result = Result { try body(connection) }
    }

    func fail(_ error: any Error) {
        result = .failure(error)
    }

    func finish() {
        waiter.signal()
    }
}

/// A write whose caller does not wait: the writer thread hands the result to `completion`
/// once the batch's COMMIT has returned (so a success is durable when it is reported).
///
/// `@unchecked Sendable`: after the caller enqueues it, only the writer thread touches
/// `result` (in `run`, `fail` and `finish`, in that order); `isDone` is guarded by the
/// queue's mutex; `body` and `completion` are immutable.
final class DeferredWrite<T: Sendable>: WriteJob, @unchecked Sendable {
    var isDone = false
    private let body: @Sendable (SQLiteConnection) throws -> T
    private let completion: @Sendable (Result<T, any Error>) -> Void
    private var result: Result<T, any Error>?

    init(_ body: @escaping @Sendable (SQLiteConnection) throws -> T,
         completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        self.body = body
        self.completion = completion
    }

    var succeeded: Bool { result.isSuccess() }

    func run(on connection: SQLiteConnection) {
        result = Result { try body(connection) }
    }

    func fail(_ error: any Error) {
        result = .failure(error)
    }

    func finish() {
        completion(result ?? .failure(SQLiteError(code: SQLITE_INTERNAL, message: "write finished without a result")))
    }
}

extension Optional {
    /// True for a stored `.success`.
    fileprivate func isSuccess<T>() -> Bool where Wrapped == Result<T, any Error> {
        if case .success? = self { return true }
        return false
    }
}
