/// One SQLite value, for cold paths that bind or read a whole row at once.
///
/// Hot paths bind and read typed columns on `SQLiteStatement` directly instead, which avoids
/// building arrays of enums; this type keeps migrations, admin commands and tests short.
public enum SQLiteValue: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null
}
