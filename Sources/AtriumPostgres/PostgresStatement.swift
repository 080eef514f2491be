import CLibPQ

/// A statement prepared on the server (`PQprepare`), with its bindings and its result.
///
/// Statements come from `PostgresConnection.prepare`, which caches them per connection, so a
/// hot query is parsed and planned once and then only bound and executed. The first `step`
/// executes it (`PQexecPrepared`, text results) and fetches the whole result; later steps
/// move a row cursor. Parameters go as text (the server infers their types from context),
/// except blobs, which go in binary. Parameter indices are 1-based, column indices 0-based,
/// as on `SQLiteStatement`. Confined to one thread at a time, like its connection.
public final class PostgresStatement {
    private unowned let connection: PostgresConnection
    private let name: String
    /// The SQL text as written (with `?`), kept for error reports (never the bound values).
    public let sql: String
    let parameterCount: Int
    /// False once the connection dropped its cache (a reconnect or close).
    private var isValid = true

    /// Every bound value's bytes, NUL-terminated, one after the other; reused across runs.
    private var arena: [UInt8] = []
    /// Per parameter: its offset in `arena`, or -1 for NULL (unbound parameters are NULL).
    private var offsets: [Int]
    private var lengths: [Int32]
    private var formats: [Int32]
    private var pointers: [UnsafePointer<CChar>?]

    /// The fetched result (`PGresult*`), nil before the first step and after a reset.
    var result: OpaquePointer?
    private var executed = false
    private var row: Int32 = -1
    private var rowCount: Int32 = 0

    /// Columns of the statement's result, from the server's description at prepare time.
    public let columnCount: Int32

    init(connection: PostgresConnection, name: String, sql: String, parameterCount: Int, columnCount: Int32) {
        self.connection = connection
        self.columnCount = columnCount
        self.name = name
        self.sql = sql
        self.parameterCount = parameterCount
        offsets = Array(repeating: -1, count: parameterCount)
        lengths = Array(repeating: 0, count: parameterCount)
        formats = Array(repeating: 0, count: parameterCount)
        pointers = Array(repeating: nil, count: parameterCount)
    }

    deinit {
        PQclear(result)
    }

    func invalidate() {
        isValid = false
        clearResult()
    }

    // MARK: Binding

    private func slot(_ index: Int32) throws(PostgresError) -> Int {
        guard index >= 1, Int(index) <= parameterCount else {
            throw PostgresError.misuse("parameter \(index) is out of range 1…\(parameterCount)", sql: sql)
        }
        if executed { clearResult() }
        return Int(index) - 1
    }

    public func bind(_ value: PostgresValue, at index: Int32) throws(PostgresError) {
        switch value {
        case .integer(let int): try bind(int, at: index)
        case .real(let double): try bind(double, at: index)
        case .text(let text): try bind(text, at: index)
        case .blob(let bytes): try bind(bytes, at: index)
        case .null: try bindNull(at: index)
        }
    }

    /// Binds `values` to parameters 1…n; the count must match the statement's parameters.
    public func bind(_ values: [PostgresValue]) throws(PostgresError) {
        guard values.count == parameterCount else {
            throw PostgresError.misuse("statement takes \(parameterCount) arguments, \(values.count) given", sql: sql)
        }
        var index: Int32 = 1
        for value in values {
            try bind(value, at: index)
            index += 1
        }
    }

    /// Binds an integer as decimal text, written straight into the arena.
    public func bind(_ value: Int64, at index: Int32) throws(PostgresError) {
        let slot = try slot(index)
        let start = arena.count
        if value < 0 { arena.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let digitsStart = arena.count
        repeat {
            arena.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        arena[digitsStart...].reverse()
        arena.append(0)
        store(slot, offset: start, length: arena.count - 1 - start, format: 0)
    }

    public func bind(_ value: Int, at index: Int32) throws(PostgresError) {
        try bind(Int64(value), at: index)
    }

    /// Binds a double as its shortest exact decimal form (`inf`, `-inf` and `nan` included,
    /// which PostgreSQL's float input accepts).
    public func bind(_ value: Double, at index: Int32) throws(PostgresError) {
        try bindText(String(describing: value).utf8, slot: slot(index))
    }

    /// Binds text; PostgreSQL text cannot hold a NUL character, so one is refused.
    public func bind(_ value: String, at index: Int32) throws(PostgresError) {
        let slot = try slot(index)
        if value.utf8.contains(0) {
            throw PostgresError(sqlState: "22021", message: "text parameter \(index) contains a NUL character",
                                sql: sql)
        }
        try bindText(value.utf8, slot: slot)
    }

    /// Binds a blob (as binary bytea); an empty array is an empty blob, not NULL.
    public func bind(_ value: [UInt8], at index: Int32) throws(PostgresError) {
        let slot = try slot(index)
        let start = arena.count
        arena.append(contentsOf: value)
        arena.append(0)  // keeps the pointer non-nil for an empty blob
        store(slot, offset: start, length: value.count, format: 1)
    }

    public func bindNull(at index: Int32) throws(PostgresError) {
        let slot = try slot(index)
        offsets[slot] = -1
    }

    private func bindText(_ utf8: String.UTF8View, slot: Int) throws(PostgresError) {
        let start = arena.count
        arena.append(contentsOf: utf8)
        arena.append(0)
        store(slot, offset: start, length: arena.count - 1 - start, format: 0)
    }

    private func store(_ slot: Int, offset: Int, length: Int, format: Int32) {
        offsets[slot] = offset
        lengths[slot] = Int32(clamping: length)
        formats[slot] = format
    }

    // MARK: Running

    /// Steps once: true when a row is ready, false past the last row (or at once for a
    /// statement that returns no rows, which this first step executes).
    public func step() throws(PostgresError) -> Bool {
        if !executed {
            try execute()
        }
        if row < rowCount { row += 1 }
        return row < rowCount
    }

    /// Clears the result and the bindings, so the statement can run again.
    public func reset() {
        clearResult()
        arena.removeAll(keepingCapacity: true)
        for slot in offsets.indices { offsets[slot] = -1 }
    }

    /// Runs the statement, ignoring any rows, and clears the result (bindings kept).
    public func runToCompletion() throws(PostgresError) {
        if !executed {
            try execute()
        }
        clearResult()
    }

    private func clearResult() {
        PQclear(result)
        result = nil
        executed = false
        row = -1
        rowCount = 0
    }

    private func execute() throws(PostgresError) {
        guard isValid else {
            throw PostgresError.misuse("statement was prepared before a reconnect; prepare it again", sql: sql)
        }
        clearResult()
        let count = Int32(parameterCount)
        let answer: Result<OpaquePointer, PostgresError> = arena.withUnsafeBufferPointer { bytes in
            if let base = bytes.baseAddress {
                let raw = UnsafeRawPointer(base)
                for slot in 0..<parameterCount {
                    let offset = offsets[slot]
                    pointers[slot] = offset < 0 ? nil : (raw + offset).assumingMemoryBound(to: CChar.self)
                }
            } else {
                for slot in 0..<parameterCount { pointers[slot] = nil }
            }
            return Result { () throws(PostgresError) in
                try connection.runPrepared(name, sql: sql, count: count, values: pointers, lengths: lengths,
                                           formats: formats)
            }
        }
        let fetched = try answer.get()
        result = fetched
        executed = true
        rowCount = PQresultStatus(fetched) == PGRES_TUPLES_OK ? PQntuples(fetched) : 0
        connection.noteChanges(fetched)
    }

    // MARK: Columns

    /// The current row's cell, or nil when there is no row or it is NULL.
    func cell(_ column: Int32) -> PostgresCell? {
        guard let result, row >= 0, row < rowCount, column >= 0, column < PQnfields(result),
              PQgetisnull(result, row, column) == 0, let text = PQgetvalue(result, row, column) else { return nil }
        return PostgresCell(
            bytes: UnsafeRawBufferPointer(start: text, count: Int(PQgetlength(result, row, column))),
            type: PQftype(result, column))
    }

    /// Integers (int2/4/8, numeric without a fraction), bool as 1/0; other numbers truncated; NULL → 0.
    public func int64(_ column: Int32) -> Int64 {
        cell(column)?.int64 ?? 0
    }

    public func int(_ column: Int32) -> Int {
        Int(truncatingIfNeeded: int64(column))
    }

    /// Any numeric column (bool as 1/0); NULL → 0.
    public func double(_ column: Int32) -> Double {
        cell(column)?.double ?? 0
    }

    /// The column's text; nil for NULL.
    public func string(_ column: Int32) -> String? {
        cell(column).map { String(decoding: $0.bytes, as: UTF8.self) }
    }

    /// The column as bytes (bytea decoded from its hex output); nil for NULL, `[]` when empty.
    public func blob(_ column: Int32) -> [UInt8]? {
        cell(column)?.blob
    }

    /// True for NULL (and for a column or row that does not exist).
    public func isNull(_ column: Int32) -> Bool {
        cell(column) == nil
    }

    /// The column as a value, its case chosen by the column's type.
    public func value(_ column: Int32) -> PostgresValue {
        cell(column)?.value ?? .null
    }
}

/// Confined to one thread at a time: never `Sendable`, not even by a later `@unchecked` claim.
@available(*, unavailable)
extension PostgresStatement: Sendable {}
