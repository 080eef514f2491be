/// One `write` call waiting in the writer's queue, seen without its result type.
///
/// `isDone` is guarded by the writer queue's mutex; the result is written by the writer
/// thread before `isDone` is set and read by the caller only after it sees `isDone` under
/// the same mutex.
protocol WriteJob: AnyObject, Sendable {
    /// The calling thread's condition, signalled when the job is done.
    var waiter: PThreadCondition { get }
    var isDone: Bool { get set }
    /// True when the body has run and returned without throwing (and no failure replaced it).
    var succeeded: Bool { get }
    /// Runs the body on the writer connection and keeps its result or error.
    func run(on connection: SQLiteConnection)
    /// Replaces the job's result with `error` (its savepoint or its batch's commit failed).
    func fail(_ error: any Error)
}

/// A `write` call and, once the writer has run it, its result.
///
/// `@unchecked Sendable`: it crosses from the calling thread to the writer thread and back
/// through the writer queue's mutex. The calling thread never touches `result` until it
/// observes `isDone == true` while holding that mutex, and the writer thread never touches
/// the job after setting `isDone` under it, so the two never access it concurrently.
final class PendingWrite<T: Sendable>: WriteJob, @unchecked Sendable {
    let waiter: PThreadCondition
    var isDone = false
    private let body: @Sendable (SQLiteConnection) throws -> T
    private(set) var result: Result<T, any Error>?

    init(_ body: @escaping @Sendable (SQLiteConnection) throws -> T, waiter: PThreadCondition) {
        self.body = body
        self.waiter = waiter
    }

    var succeeded: Bool {
        if case .success = result { return true }
        return false
    }

    func run(on connection: SQLiteConnection) {
        do {
            result = .success(try body(connection))
        } catch {
            result = .failure(error)
        }
    }

    func fail(_ error: any Error) {
        result = .failure(error)
    }
}
