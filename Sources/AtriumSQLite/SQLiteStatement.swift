import CSQLite

/// A prepared statement, finalized when the last reference goes away.
///
/// Statements come from `SQLiteConnection.prepare`, which caches them per connection, so a
/// hot query is compiled once and then only reset, bound and stepped. Like its connection it
/// is confined to one thread at a time. Column indices are 0-based, parameter indices 1-based
/// (SQLite's own convention).
public final class SQLiteStatement {
    let handle: OpaquePointer
    let db: OpaquePointer
    /// The SQL text, kept for error reports (never the bound values).
    public let sql: String

    init(handle: OpaquePointer, db: OpaquePointer, sql: String) {
        self.handle = handle
        self.db = db
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    // MARK: Binding

    @inline(__always)
    private func check(_ rc: Int32) throws(SQLiteError) {
        if rc != SQLITE_OK {
            throw SQLiteError.current(db, code: rc, sql: sql)
        }
    }

    public func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        switch value {
        case .integer(let int): try bind(int, at: index)
        case .real(let double): try bind(double, at: index)
        case .text(let text): try bind(text, at: index)
        case .blob(let bytes): try bind(bytes, at: index)
        case .null: try bindNull(at: index)
        }
    }

    /// Binds `values` to parameters 1…n; the count must match the statement's parameters.
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard values.count == expected else {
            throw SQLiteError(
                code: SQLITE_RANGE,
                message: "statement takes \(expected) arguments, \(values.count) given",
                sql: sql)
        }
        var index: Int32 = 1
        for value in values {
            try bind(value, at: index)
            index += 1
        }
    }

    public func bind(_ value: Int64, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    public func bind(_ value: Int, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, Int64(value)))
    }

    public func bind(_ value: Double, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_double(handle, index, value))
    }

    public func bind(_ value: String, at index: Int32) throws(SQLiteError) {
        var value = value
        let rc = value.withUTF8 { utf8 in
            bindTextBytes(UnsafeRawBufferPointer(utf8), at: index)
        }
        try check(rc)
    }

    /// Binds a blob; an empty array is an empty blob, not NULL.
    public func bind(_ value: [UInt8], at index: Int32) throws(SQLiteError) {
        let rc = value.withUnsafeBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return sqlite3_bind_zeroblob(handle, index, 0)
            }
            return sqlite3_bind_blob64(handle, index, base, UInt64(bytes.count), atrium_sqlite_transient())
        }
        try check(rc)
    }

    /// Binds UTF-8 bytes as TEXT (SQLite copies them), so stored JSON can go in
    /// without becoming a `String` first. The bytes are not validated.
    public func bindText(_ utf8: UnsafeRawBufferPointer, at index: Int32) throws(SQLiteError) {
        try check(bindTextBytes(utf8, at: index))
    }

    /// Binds UTF-8 bytes as TEXT; see `bindText(_:at:)` for buffers.
    public func bindText(_ utf8: [UInt8], at index: Int32) throws(SQLiteError) {
        let rc = utf8.withUnsafeBytes { bindTextBytes($0, at: index) }
        try check(rc)
    }

    public func bindNull(at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_null(handle, index))
    }

    private func bindTextBytes(_ utf8: UnsafeRawBufferPointer, at index: Int32) -> Int32 {
        // A nil base address would bind NULL, so an empty text gets a real (empty) C string.
        guard let base = utf8.baseAddress, utf8.count > 0 else {
            return sqlite3_bind_text(handle, index, "", 0, atrium_sqlite_transient())
        }
        return sqlite3_bind_text64(
            handle, index, base.assumingMemoryBound(to: CChar.self), UInt64(utf8.count),
            atrium_sqlite_transient(), UInt8(SQLITE_UTF8))
    }

    // MARK: Stepping

    /// Steps once: true when a row is ready, false when the statement is done.
    public func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc: throw SQLiteError.current(db, code: rc, sql: sql)
        }
    }

    /// Resets the statement and clears its bindings, so it can run again.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Steps to the end and resets (bindings kept): for statements that return no rows.
    func runToCompletion() throws(SQLiteError) {
        var rc = sqlite3_step(handle)
        while rc == SQLITE_ROW {
            rc = sqlite3_step(handle)
        }
        if rc != SQLITE_DONE {
            let error = SQLiteError.current(db, code: rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
        sqlite3_reset(handle)
    }

    // MARK: Columns

    public var columnCount: Int32 { sqlite3_column_count(handle) }

    public func columnName(_ column: Int32) -> String? {
        sqlite3_column_name(handle, column).map { String(cString: $0) }
    }

    public func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    public func int(_ column: Int32) -> Int {
        Int(truncatingIfNeeded: sqlite3_column_int64(handle, column))
    }

    public func double(_ column: Int32) -> Double {
        sqlite3_column_double(handle, column)
    }

    /// The column as text; nil for NULL.
    public func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column as bytes; nil for NULL, `[]` for an empty blob.
    public func blob(_ column: Int32) -> [UInt8]? {
        if sqlite3_column_type(handle, column) == SQLITE_NULL { return nil }
        guard let bytes = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    public func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    public func value(_ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(int64(column))
        case SQLITE_FLOAT: return .real(double(column))
        case SQLITE_TEXT: return .text(string(column) ?? "")
        case SQLITE_BLOB: return .blob(blob(column) ?? [])
        default: return .null
        }
    }

    /// Lends the column's UTF-8 bytes without copying them (an empty buffer for NULL).
    ///
    /// The buffer is SQLite's own and is valid only inside `body`: it exists so stored JSON
    /// can be copied straight into a response buffer.
    public func withText<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        guard let text = sqlite3_column_text(handle, column) else {
            return try body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        let count = Int(sqlite3_column_bytes(handle, column))
        return try body(UnsafeRawBufferPointer(start: text, count: count))
    }
}

/// Confined to one thread at a time: never `Sendable`, not even by a later `@unchecked` claim.
@available(*, unavailable)
extension SQLiteStatement: Sendable {}
