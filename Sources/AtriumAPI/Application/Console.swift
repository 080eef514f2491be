import Glibc

/// Unbuffered lines to standard output and standard error: start-up messages must reach a
/// pipe at once (tests and supervisors wait for them), and C's `stdout`/`stderr` globals are
/// not safe to touch from Swift 6 code.
public enum Console {
    public static func out(_ line: String) { write(1, line + "\n") }
    public static func error(_ line: String) { write(2, line + "\n") }

    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
        }
        bytes.removeAll()
    }
}
