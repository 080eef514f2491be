import AtriumSQLite
import Glibc

/// Checks a data directory before SQLite touches it, so an unusable one stops start-up with a
/// message naming the path and the problem, and a file that is not ours is never written:
/// SQLite would happily turn an empty or foreign file into a database, or fail later with a
/// bare result code.
enum DataDirectoryCheck {
    /// The header every SQLite 3 database file starts with.
    static let sqliteHeader = Array("SQLite format 3\u{0}".utf8)

    static func verify(_ directory: String, databasePath: String) throws(StoreError) {
        createIfMissing(directory)
        var status = stat()
        guard stat(directory, &status) == 0 else {
            throw StoreError.unusable("cannot use the data directory \(directory): \(lastError())")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw StoreError.unusable("the data directory \(directory) is not a directory")
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw StoreError.unusable("the data directory \(directory) is not writable: \(lastError())")
        }
        try verifyDatabaseFile(databasePath)
    }

    private static func verifyDatabaseFile(_ path: String) throws(StoreError) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }  // not there yet: SQLite creates it
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw StoreError.unusable("the database \(path) is not a regular file")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.unusable("cannot read the database \(path): \(lastError())") }
        var header = [UInt8](repeating: 0, count: sqliteHeader.count)
        let count = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        close(fd)
        if count != 0 && (count != sqliteHeader.count || header != sqliteHeader) {
            throw StoreError.unusable(
                "\(path) is not a SQLite database (it does not start with the SQLite header); it was left untouched")
        }
        guard access(path, W_OK) == 0 else {
            throw StoreError.unusable("the database \(path) is not writable: \(lastError())")
        }
    }

    /// `mkdir -p`; failures are reported by the checks that follow.
    private static func createIfMissing(_ directory: String) {
        var current = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            current += "/" + component
            _ = mkdir(current, 0o755)
        }
    }

    /// The store error for a failure to open or migrate the database at `path`.
    static func openFailure(_ error: SQLiteError, path: String) -> StoreError {
        switch error.primaryCode {
        case 11, 26:  // SQLITE_CORRUPT, SQLITE_NOTADB
            return .unusable("the database \(path) is damaged (SQLite: \(error.message)); it was left untouched: "
                             + "restore it from a backup (atrium backup) or move it aside")
        case 8:  // SQLITE_READONLY
            return .unusable("the database \(path) is read-only (SQLite: \(error.message))")
        default:
            return .unusable("cannot open the database \(path): \(error.message)")
        }
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
