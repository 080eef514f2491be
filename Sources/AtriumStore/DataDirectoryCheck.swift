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

/// One `atrium serve` per data directory: an exclusive `flock` on `<data-dir>/atrium.lock`,
/// held for the store's lifetime. The kernel releases it when the process dies, however it
/// dies (`kill -9` included), so a stale lock file never blocks a restart. Admin commands do
/// not take it: they may write beside a running server (SQLite serializes their writes).
final class DataDirectoryLock: Sendable {
    private let fd: Int32

    init(directory: String) throws(StoreError) {
        let path = directory + "/atrium.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StoreError.unusable("cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.readPID(fd)
            close(fd)
            throw StoreError.unusable(
                "the data directory \(directory) is in use by another atrium serve"
                + (holder.map { " (pid \($0))" } ?? "") + "; one server per data directory (lock file \(path))")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    private static func readPID(_ fd: Int32) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int(String(decoding: buffer[0..<count], as: UTF8.self).filter(\.isNumber))
    }
}
