import AtriumCrypto
import Glibc

/// The generated JWT secret: created once in the data directory with mode 0600, then read
/// back on every start, so tokens survive restarts without any configuration.
enum SecretFile {
    static func loadOrCreate(path: String) throws(ConfigurationError) -> String {
        if let existing = read(path) {
            guard existing.utf8.count >= 32 else {
                throw ConfigurationError("\(path) holds a secret shorter than 32 bytes")
            }
            return existing
        }
        let secret = Base64.urlEncode(SecureRandom.bytes(48))
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST, let raced = read(path) { return raced }
            throw ConfigurationError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(secret.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw ConfigurationError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return secret
    }

    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self).trimmingSpaces
    }
}
