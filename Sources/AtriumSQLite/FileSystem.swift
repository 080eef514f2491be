import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file operations the database needs, without Foundation.
enum FileSystem {
    /// `mkdir -p` of the directory holding `path`.
    static func createParentDirectories(of path: String) throws(SQLiteError) {
        guard let slash = path.lastIndex(of: "/") else { return }
        let directory = String(path[..<slash])
        var prefix = directory.hasPrefix("/") ? "/" : ""
        for component in directory.split(separator: "/") {
            if !prefix.isEmpty && !prefix.hasSuffix("/") {
                prefix += "/"
            }
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw SQLiteError(code: SQLITE_CANTOPEN, message: "cannot create directory \(prefix) (errno \(errno))")
            }
        }
    }

    /// Removes `path` if it exists.
    static func remove(_ path: String) {
        unlink(path)
    }

    /// Atomically replaces `destination` with `source`, then syncs the directory so the
    /// rename itself survives a crash.
    static func replace(_ destination: String, with source: String) throws(SQLiteError) {
        guard rename(source, destination) == 0 else {
            throw SQLiteError(code: SQLITE_IOERR, message: "cannot rename \(source) to \(destination) (errno \(errno))")
        }
        let directory = destination.lastIndex(of: "/").map { String(destination[..<$0]) } ?? "."
        let descriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }
}
