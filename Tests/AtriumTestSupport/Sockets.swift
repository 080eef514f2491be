import COpenSSL
import Foundation
import Glibc

/// A listening TCP socket on 127.0.0.1 with an ephemeral port. Never accepts by itself, so a
/// test can ask afterwards whether a client ever connected.
public final class Listener: Sendable {
    public let fd: Int32
    public let port: Int

    /// Binds `port` (0: an ephemeral one).
    public init(port: Int = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ReceiverError("socket failed") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 128) == 0 else { close(fd); throw ReceiverError("bind/listen failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }

    /// True when a connection is waiting in the accept queue (within `milliseconds`).
    public func hasPendingConnection(milliseconds: Int32 = 0) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }

    /// Accepts one connection, waiting at most `milliseconds`.
    public func accept(milliseconds: Int32) -> Int32? {
        guard hasPendingConnection(milliseconds: milliseconds) else { return nil }
        let client = Glibc.accept(fd, nil, nil)
        return client >= 0 ? client : nil
    }
}

public struct ReceiverError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A server-side SSL_CTX for the test receiver.
///
/// `@unchecked Sendable`: configured completely in init, then only used for SSL_new, which
/// OpenSSL allows concurrently on an unmodified context.
public final class ServerTLSContext: @unchecked Sendable {
    public let context: OpaquePointer

    public init(certificateChain: String, privateKey: String) throws {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw ReceiverError("SSL_CTX_new") }
        self.context = context
        guard SSL_CTX_use_certificate_chain_file(context, certificateChain) == 1,
              SSL_CTX_use_PrivateKey_file(context, privateKey, SSL_FILETYPE_PEM) == 1 else {
            throw ReceiverError("cannot load server certificate")
        }
    }

    deinit { SSL_CTX_free(context) }
}

/// The server side of a test connection, plain or TLS.
public enum ServerSide {
    /// Serves one accepted connection: the TLS handshake when `tls` is given (skipping `body`
    /// if it fails), then `body` with the session (nil for plain TCP); closes everything after.
    public static func serve(_ fd: Int32, tls: ServerTLSContext?, _ body: (OpaquePointer?) -> Void) {
        defer { close(fd) }
        guard let tls else { return body(nil) }
        guard let ssl = acceptTLS(fd, tls) else { return }
        defer { SSL_free(ssl) }
        body(ssl)
    }

    /// Runs the TLS handshake on an accepted socket; nil (and nothing to free) on failure.
    public static func acceptTLS(_ fd: Int32, _ tls: ServerTLSContext) -> OpaquePointer? {
        let ssl = SSL_new(tls.context)
        SSL_set_fd(ssl, fd)
        guard SSL_accept(ssl) == 1 else {
            SSL_free(ssl)
            return nil
        }
        return ssl
    }

    /// A peer that closed first must not kill the test process through SIGPIPE (SSL_write has
    /// no MSG_NOSIGNAL); ignored once for the whole process.
    private static let sigpipeIgnored: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return true
    }()

    /// Writes `bytes` (through `ssl` when given, then a TLS close-notify), ignoring a closed peer.
    public static func write(_ bytes: [UInt8], fd: Int32, ssl: OpaquePointer?) {
        _ = sigpipeIgnored
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            if let ssl {
                _ = SSL_write(ssl, base, Int32(raw.count))
                _ = SSL_shutdown(ssl)
            } else {
                _ = send(fd, base, raw.count, Int32(MSG_NOSIGNAL))
            }
        }
    }
}

/// Reading one HTTP request (plain or TLS) the simple way a test receiver needs.
public enum RequestReading {
    /// Reads a head and a Content-Length body.
    public static func readRequest(fd: Int32, ssl: OpaquePointer?) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var expectedTotal: Int?
        while expectedTotal.map({ bytes.count < $0 }) ?? true {
            let count = buffer.withUnsafeMutableBytes { raw -> Int in
                if let ssl { return Int(SSL_read(ssl, raw.baseAddress, Int32(raw.count))) }
                return recv(fd, raw.baseAddress, raw.count, 0)
            }
            guard count > 0 else { break }
            bytes.append(contentsOf: buffer[0..<count])
            if expectedTotal == nil, let end = bytes.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound {
                let head = String(decoding: bytes[..<end], as: UTF8.self).lowercased()
                let length = head.split(separator: "\r\n")
                    .first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                expectedTotal = end + length
            }
        }
        return bytes
    }
}
