import Glibc

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
