import AtriumPostgres
import AtriumSQLite

/// One value bound to or read from a statement, whichever engine runs it: for cold paths
/// that bind or read a whole row at once. Hot paths bind and read typed columns on
/// `SQLStatement` directly.
public enum SQLValue: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null
}

extension SQLValue {
    init(_ value: SQLiteValue) {
        switch value {
        case .integer(let int): self = .integer(int)
        case .real(let double): self = .real(double)
        case .text(let text): self = .text(text)
        case .blob(let bytes): self = .blob(bytes)
        case .null: self = .null
        }
    }

    init(_ value: PostgresValue) {
        switch value {
        case .integer(let int): self = .integer(int)
        case .real(let double): self = .real(double)
        case .text(let text): self = .text(text)
        case .blob(let bytes): self = .blob(bytes)
        case .null: self = .null
        }
    }

    var postgres: PostgresValue {
        switch self {
        case .integer(let int): return .integer(int)
        case .real(let double): return .real(double)
        case .text(let text): return .text(text)
        case .blob(let bytes): return .blob(bytes)
        case .null: return .null
        }
    }

    var sqlite: SQLiteValue {
        switch self {
        case .integer(let int): return .integer(int)
        case .real(let double): return .real(double)
        case .text(let text): return .text(text)
        case .blob(let bytes): return .blob(bytes)
        case .null: return .null
        }
    }
}
