/// One PostgreSQL value, for cold paths that bind or read a whole row at once.
///
/// The same five cases as `SQLiteValue`, so the store layer can map one onto the other with
/// a plain switch. Hot paths bind and read typed columns on `PostgresStatement` instead.
public enum PostgresValue: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null
}
