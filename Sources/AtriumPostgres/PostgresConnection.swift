import CLibPQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One PostgreSQL connection (a libpq `PGconn`), with its cache of prepared statements.
///
/// Not `Sendable`: like `SQLiteConnection`, a connection is confined to one thread at a time.
/// `PostgresDatabase` owns its connections and lends one to a `read` or `write` body for the
/// body's duration; a body must not keep it. SQL is written with SQLite's `?` parameters and
/// rewritten once per statement text (see `PlaceholderRewriter`).
public final class PostgresConnection {
    /// The `PGconn*`; nil once closed.
    private(set) var handle: OpaquePointer?
    private var statements: [String: PostgresStatement] = [:]
    private var statementNumber = 0
    /// "host …, database …", for messages (never the password).
    let target: String
    /// Set by a write body that wants the database's commit observers told once its
    /// transaction has committed (see `PostgresDatabase.addCommitObserver`).
    public internal(set) var commitNotificationRequested = false
    /// The last statement error since the writer cleared it: the writer's way to see a
    /// serialization failure or a lost connection that a body caught and wrapped.
    var lastFailure: PostgresError?
    private var changeCount = 0
    /// A `BEGIN …` asked for (`beginLazily`) and not sent yet: it goes out in one message with
    /// the next statement, so opening a transaction costs no round trip of its own.
    private var pendingBegin: String?
    /// Pipeline syncs sent whose answers are not read yet: a read-only transaction's COMMIT or
    /// ROLLBACK sent by `endWithoutWaiting`, read at the next use of the connection.
    private var unreadSyncs = 0
    /// Set when a pipelined exchange could not be completed: the connection may be out of step
    /// with the server, so it counts as closed until `reconnect`.
    private var pipelineBroken = false

    /// Connects to `url` (a `postgres://` or `postgresql://` URI) with Atrium's defaults.
    public convenience init(url: String) throws(PostgresError) {
        try self.init(url: url, settings: ConnectionSettings())
    }

    init(url: String, settings: ConnectionSettings) throws(PostgresError) {
        try PostgresURL.validate(url)
        target = PostgresURL.target(of: url)
        let parameters = settings.parameters(url: url)
        let connection = withCStringArrays(parameters.map(\.0), parameters.map(\.1)) { keywords, values in
            PQconnectdbParams(keywords, values, 1)
        }
        guard let connection else { throw PostgresError.connectionLost("cannot connect to PostgreSQL: out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = PostgresError.clean(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw PostgresError.connectionLost(
                "cannot connect to PostgreSQL (\(target)): \(PostgresURL.redacted(reason, in: url))")
        }
        atrium_pq_silence_notices(connection)
        handle = connection
    }

    deinit {
        close()
    }

    /// Asks for the commit observers to run after this write's transaction commits. Harmless
    /// outside the writer, and when the write is later rolled back (a spurious wake-up).
    public func requestCommitNotification() {
        commitNotificationRequested = true
    }

    /// True while the connection is open and libpq considers it healthy.
    public var isOpen: Bool {
        !pipelineBroken && (handle.map { PQstatus($0) == CONNECTION_OK } ?? false)
    }

    /// Reconnects with the same parameters (`PQreset`). Prepared statements die with the old
    /// session, so the cache is dropped and statements handed out before become unusable.
    public func reconnect() throws(PostgresError) {
        guard let handle else { throw PostgresError.misuse("connection is closed") }
        dropStatements()
        pendingBegin = nil
        unreadSyncs = 0
        pipelineBroken = false
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            let reason = PostgresError.clean(String(cString: PQerrorMessage(handle)))
            throw PostgresError.connectionLost("cannot reconnect to PostgreSQL (\(target)): \(reason)")
        }
        atrium_pq_silence_notices(handle)
    }

    /// Closes the connection. Idempotent.
    func close() {
        dropStatements()
        pendingBegin = nil
        unreadSyncs = 0
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
    }

    private func dropStatements() {
        for statement in statements.values {
            statement.invalidate()
        }
        statements.removeAll()
    }

    func openHandle(sql: String? = nil) throws(PostgresError) -> OpaquePointer {
        guard let handle else { throw PostgresError.misuse("connection is closed", sql: sql) }
        return handle
    }

    /// Runs one or more statements with the simple query protocol (no parameters): schema
    /// changes, migrations, `BEGIN`/`COMMIT`. A pending lazy `BEGIN` goes out in the same
    /// message, ahead of `sql`.
    public func execute(_ sql: String) throws(PostgresError) {
        let handle = try settledHandle(sql: sql)
        let text = pendingBegin.map { $0 + "; " + sql } ?? sql
        pendingBegin = nil
        let result = PQexec(handle, text)
        defer { PQclear(result) }
        switch result.map(PQresultStatus) {
        case PGRES_COMMAND_OK?, PGRES_TUPLES_OK?, PGRES_EMPTY_QUERY?:
            noteChanges(result)
        default:
            throw failure(PostgresError.from(result: result, connection: handle, sql: sql))
        }
    }

    /// The command tag of a simple-protocol statement (`COMMIT`, or `ROLLBACK` when a COMMIT
    /// found the transaction aborted).
    func executeReturningTag(_ sql: String) throws(PostgresError) -> String {
        let handle = try settledHandle(sql: sql)
        let text = pendingBegin.map { $0 + "; " + sql } ?? sql
        pendingBegin = nil
        let result = PQexec(handle, text)
        defer { PQclear(result) }
        switch result.map(PQresultStatus) {
        case PGRES_COMMAND_OK?, PGRES_TUPLES_OK?:
            return result.flatMap { PQcmdStatus($0) }.map { String(cString: $0) } ?? ""
        default:
            throw failure(PostgresError.from(result: result, connection: handle, sql: sql))
        }
    }

    /// The statement for `sql`, prepared on the server once per connection and then reused.
    ///
    /// It comes back reset with its bindings cleared. Asking for the same SQL again while a
    /// previous use is still stepping resets that use.
    public func prepare(_ sql: String) throws(PostgresError) -> PostgresStatement {
        if let statement = statements[sql] {
            statement.reset()
            return statement
        }
        let handle = try settledHandle(sql: sql)
        let text = PlaceholderRewriter.rewrite(sql).sql
        statementNumber += 1
        let name = "atrium_\(statementNumber)"
        let prepared = PQprepare(handle, name, text, 0, nil)
        defer { PQclear(prepared) }
        guard prepared.map(PQresultStatus) == PGRES_COMMAND_OK else {
            throw failure(PostgresError.from(result: prepared, connection: handle, sql: sql))
        }
        // The server's own counts, so `columnCount` is known before the first step (as on SQLite).
        let description = PQdescribePrepared(handle, name)
        defer { PQclear(description) }
        guard let description, PQresultStatus(description) == PGRES_COMMAND_OK else {
            throw failure(PostgresError.from(result: description, connection: handle, sql: sql))
        }
        let statement = PostgresStatement(
            connection: self, name: name, sql: sql, parameterCount: Int(PQnparams(description)),
            columnCount: PQnfields(description))
        statements[sql] = statement
        return statement
    }

    /// Rows affected by the last INSERT, UPDATE, DELETE or MERGE run on this connection.
    public var changes: Int { changeCount }

    /// Runs a query and collects every row: a convenience for cold paths.
    public func query(_ sql: String, _ arguments: [PostgresValue] = []) throws(PostgresError) -> [[PostgresValue]] {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        var rows: [[PostgresValue]] = []
        let columns = statement.columnCount
        while try statement.step() {
            var row: [PostgresValue] = []
            row.reserveCapacity(Int(columns))
            for column in 0..<columns {
                row.append(statement.value(column))
            }
            rows.append(row)
        }
        return rows
    }

    /// Binds `arguments` and runs the statement, ignoring rows: a convenience for cold paths.
    public func run(_ sql: String, _ arguments: [PostgresValue] = []) throws(PostgresError) {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        try statement.runToCompletion()
    }

    // MARK: Transaction control without round trips of its own

    /// Asks for `sql` (a `BEGIN …`) to open the next transaction. Nothing is sent now: the
    /// `BEGIN` goes out in one message with the next statement (pipeline mode), or ahead of
    /// the next simple query, so the server runs it just before that statement exactly as if
    /// it had been sent alone — the snapshot is still taken by the first statement after it.
    func beginLazily(_ sql: String) {
        pendingBegin = sql
    }

    /// True while a `beginLazily` has not been sent: no statement ran since.
    var beginIsPending: Bool { pendingBegin != nil }

    /// Forgets a `BEGIN` that was never sent (the transaction ran no statement).
    func discardPendingBegin() {
        pendingBegin = nil
    }

    /// Sends `sql` (the COMMIT or ROLLBACK of a read-only transaction) without waiting for its
    /// answer, which is read at the next use of the connection. The server ends the
    /// transaction as soon as the message arrives, so no snapshot is held meanwhile. Only for
    /// transactions that wrote nothing: nobody learns whether the COMMIT succeeded.
    func endWithoutWaiting(_ sql: String) throws(PostgresError) {
        let handle = try openHandle(sql: sql)
        guard PQpipelineStatus(handle) == PQ_PIPELINE_ON || PQenterPipelineMode(handle) == 1,
              PQsendQueryParams(handle, sql, 0, nil, nil, nil, nil, 0) == 1,
              PQpipelineSync(handle) == 1 else {
            throw failure(brokenPipeline(handle, sql: sql))
        }
        unreadSyncs += 1
    }

    /// Runs the prepared statement `name` with the given parameters and returns its result
    /// (`PGRES_TUPLES_OK` or `PGRES_COMMAND_OK`), sending a pending `BEGIN` in the same message
    /// and reading the answers of an earlier `endWithoutWaiting` on the way: one round trip.
    func runPrepared(
        _ name: String, sql: String, count: Int32, values: UnsafePointer<UnsafePointer<CChar>?>?,
        lengths: UnsafePointer<Int32>?, formats: UnsafePointer<Int32>?
    ) throws(PostgresError) -> OpaquePointer {
        let handle = try openHandle(sql: sql)
        let answer: OpaquePointer?
        if pendingBegin == nil && unreadSyncs == 0 {
            answer = PQexecPrepared(handle, name, count, values, lengths, formats, 0)
        } else {
            answer = try pipelined(handle, name: name, sql: sql, count: count, values: values, lengths: lengths,
                                   formats: formats)
        }
        let status = answer.map(PQresultStatus)
        guard let answer, status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            defer { PQclear(answer) }
            throw failure(PostgresError.from(result: answer, connection: handle, sql: sql))
        }
        return answer
    }

    /// The pipelined exchange of `runPrepared`: [earlier unread answers], [BEGIN], the
    /// statement, sync; then every answer is read. Returns the statement's result (an error
    /// result included), or throws for a failed BEGIN, an earlier end that did not end its
    /// transaction, or a broken connection.
    private func pipelined(
        _ handle: OpaquePointer, name: String, sql: String, count: Int32,
        values: UnsafePointer<UnsafePointer<CChar>?>?, lengths: UnsafePointer<Int32>?,
        formats: UnsafePointer<Int32>?
    ) throws(PostgresError) -> OpaquePointer? {
        let begin = pendingBegin
        pendingBegin = nil
        guard PQpipelineStatus(handle) == PQ_PIPELINE_ON || PQenterPipelineMode(handle) == 1 else {
            throw failure(brokenPipeline(handle, sql: sql))
        }
        if let begin, PQsendQueryParams(handle, begin, 0, nil, nil, nil, nil, 0) != 1 {
            throw failure(brokenPipeline(handle, sql: begin))
        }
        guard PQsendQueryPrepared(handle, name, count, values, lengths, formats, 0) == 1,
              PQpipelineSync(handle) == 1 else {
            throw failure(brokenPipeline(handle, sql: sql))
        }
        try readUnreadSyncs(handle)
        var beginFailure: PostgresError?
        if let begin {
            let result = try nextResult(handle, sql: begin)
            if PQresultStatus(result) != PGRES_COMMAND_OK {
                beginFailure = PostgresError.from(result: result, connection: handle, sql: begin)
            }
            PQclear(result)
        }
        let answer = try nextResult(handle, sql: sql)
        do {
            try readSync(handle, sql: sql)
        } catch {
            PQclear(answer)
            throw error
        }
        _ = PQexitPipelineMode(handle)
        if let beginFailure {
            PQclear(answer)
            throw failure(beginFailure)
        }
        return answer
    }

    /// Reads the answers of every `endWithoutWaiting` sent since the last read. A COMMIT or
    /// ROLLBACK that failed (it never does for a read-only transaction while the connection
    /// lives) is reported as a broken connection, so the connection is reset rather than
    /// trusted with a transaction in an unknown state.
    private func readUnreadSyncs(_ handle: OpaquePointer) throws(PostgresError) {
        while unreadSyncs > 0 {
            let result = try nextResult(handle, sql: "COMMIT")
            let ended = PQresultStatus(result) == PGRES_COMMAND_OK
            let failureText = ended ? nil : PostgresError.from(result: result, connection: handle, sql: nil)
            PQclear(result)
            try readSync(handle, sql: "COMMIT")
            unreadSyncs -= 1
            if let failureText {
                pipelineBroken = true
                throw failure(PostgresError.connectionLost(
                    "a read transaction did not end cleanly (\(failureText.message)); the connection is reset",
                    sql: failureText.sql))
            }
        }
    }

    /// The next query's result in the pipeline, and the NULL that closes it.
    private func nextResult(_ handle: OpaquePointer, sql: String) throws(PostgresError) -> OpaquePointer {
        guard let result = PQgetResult(handle) else {
            throw failure(brokenPipeline(handle, sql: sql))
        }
        while let extra = PQgetResult(handle) {
            PQclear(extra)
        }
        return result
    }

    /// Reads the answer to a pipeline sync.
    private func readSync(_ handle: OpaquePointer, sql: String) throws(PostgresError) {
        let sync = PQgetResult(handle)
        defer { PQclear(sync) }
        guard let sync, PQresultStatus(sync) == PGRES_PIPELINE_SYNC else {
            throw failure(brokenPipeline(handle, sql: sql))
        }
    }

    /// The error for a pipeline that could not be sent or read: the connection cannot be
    /// trusted to be in step with the server any more, so it counts as lost (and is reset).
    private func brokenPipeline(_ handle: OpaquePointer, sql: String) -> PostgresError {
        pipelineBroken = true
        let text = PostgresError.clean(String(cString: PQerrorMessage(handle)))
        return PostgresError.connectionLost(
            "the PostgreSQL pipeline broke" + (text.isEmpty ? "" : ": " + text), sql: sql)
    }

    /// The open handle, after reading any answers left by `endWithoutWaiting` and leaving
    /// pipeline mode, so the synchronous libpq calls may be used.
    private func settledHandle(sql: String) throws(PostgresError) -> OpaquePointer {
        let handle = try openHandle(sql: sql)
        if unreadSyncs > 0 {
            try readUnreadSyncs(handle)
        }
        if PQpipelineStatus(handle) != PQ_PIPELINE_OFF, PQexitPipelineMode(handle) != 1 {
            throw failure(brokenPipeline(handle, sql: sql))
        }
        return handle
    }

    // MARK: Internals for statements and the database

    /// Keeps `error` for the writer (see `lastFailure`) and returns it.
    func failure(_ error: PostgresError) -> PostgresError {
        lastFailure = error
        return error
    }

    /// Updates `changes` from a result whose command tag is INSERT, UPDATE, DELETE or MERGE.
    func noteChanges(_ result: OpaquePointer?) {
        guard let result, let tag = PQcmdStatus(result) else { return }
        let first = UInt8(bitPattern: tag.pointee)
        guard first == UInt8(ascii: "I") || first == UInt8(ascii: "U") || first == UInt8(ascii: "D")
                || first == UInt8(ascii: "M") else { return }
        let command = String(cString: tag)
        guard command.hasPrefix("INSERT ") || command.hasPrefix("UPDATE ") || command.hasPrefix("DELETE ")
                || command.hasPrefix("MERGE ") else { return }
        changeCount = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// libpq's view of the transaction (idle, in a transaction, in a failed one, unknown).
    var transactionStatus: PGTransactionStatusType {
        handle.map { PQtransactionStatus($0) } ?? PQTRANS_UNKNOWN
    }
}

/// Confined to one thread at a time: never `Sendable`, not even by a later `@unchecked` claim.
@available(*, unavailable)
extension PostgresConnection: Sendable {}

/// Calls `body` with NULL-terminated C arrays of `keywords` and `values` (for `PQconnectdbParams`).
func withCStringArrays<R>(
    _ keywords: [String], _ values: [String],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> R
) -> R {
    let keywordCopies = keywords.map { strdup($0) }
    let valueCopies = values.map { strdup($0) }
    defer {
        keywordCopies.forEach { free($0) }
        valueCopies.forEach { free($0) }
    }
    let keywordPointers = keywordCopies.map { UnsafePointer($0) } + [nil]
    let valuePointers = valueCopies.map { UnsafePointer($0) } + [nil]
    return body(keywordPointers, valuePointers)
}
