import Foundation
import Glibc
import Testing

/// A small tmpfs of its own, for tests that need a full or read-only file system for real.
/// Mounting needs root (CAP_SYS_ADMIN); `permitted` says whether this machine allows it, so
/// those tests are skipped, with that reason, where it does not.
final class ScratchMount {
    let path: String

    static let permitted: Bool = {
        guard let probe = try? ScratchMount(megabytes: 1) else { return false }
        probe.unmount()
        return true
    }()

    static let skipReason: Comment = "mounting a tmpfs is not permitted here (needs root / CAP_SYS_ADMIN)"

    init(megabytes: Int) throws {
        path = NSTemporaryDirectory() + "atrium-mount-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Glibc.mount("tmpfs", path, "tmpfs", 0, "size=\(megabytes)m,mode=0755") == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: path)
            throw TestFailure("mount tmpfs at \(path): \(reason)")
        }
    }

    deinit { unmount() }

    /// Makes the whole file system read-only (or writable again).
    func setReadOnly(_ readOnly: Bool) throws {
        let flags = UInt(MS_REMOUNT) | (readOnly ? UInt(MS_RDONLY) : 0)
        guard Glibc.mount("tmpfs", path, "tmpfs", flags, nil) == 0 else {
            throw TestFailure("remount \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Fills the file system to the last byte with `filler`; returns its path.
    func fill() throws -> String {
        let filler = path + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw TestFailure("cannot create \(filler)") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5A, count: 4096)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        var byte: UInt8 = 0
        while write(fd, &byte, 1) > 0 {}
        return filler
    }

    func unmount() {
        if umount2(path, Int32(MNT_DETACH)) == 0 || errno == EINVAL {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
