import COpenSSL
import Foundation
import Glibc
import Synchronization
@testable import AtriumOutbound

/// A listening TCP socket on 127.0.0.1 with an ephemeral port. Never accepts by itself, so a
/// test can ask afterwards whether a client ever connected.
final class Listener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ReceiverError("socket failed") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 8) == 0 else { close(fd); throw ReceiverError("bind/listen failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }

    /// True when a connection is waiting in the accept queue (within `milliseconds`).
    func hasPendingConnection(milliseconds: Int32 = 0) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }

    /// Accepts one connection, waiting at most `milliseconds`.
    func accept(milliseconds: Int32) -> Int32? {
        guard hasPendingConnection(milliseconds: milliseconds) else { return nil }
        let client = Glibc.accept(fd, nil, nil)
        return client >= 0 ? client : nil
    }
}

struct ReceiverError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A server-side SSL_CTX for the test receiver.
///
/// `@unchecked Sendable`: configured completely in init, then only used for SSL_new, which
/// OpenSSL allows concurrently on an unmodified context.
final class ServerTLSContext: @unchecked Sendable {
    let context: OpaquePointer

    init(certificateChain: String, privateKey: String) throws {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw ReceiverError("SSL_CTX_new") }
        self.context = context
        guard SSL_CTX_use_certificate_chain_file(context, certificateChain) == 1,
              SSL_CTX_use_PrivateKey_file(context, privateKey, SSL_FILETYPE_PEM) == 1 else {
            throw ReceiverError("cannot load server certificate")
        }
    }

    deinit { SSL_CTX_free(context) }
}

/// One-shot webhook receiver on its own thread: accepts one connection (plain or TLS),
/// records the raw request bytes, answers with canned raw bytes (or never answers), closes.
final class TestReceiver: Sendable {
    let listener: Listener
    var port: Int { listener.port }
    private let captured = Mutex<[UInt8]>([])
    private let finished = DispatchSemaphore(value: 0)

    init(response: [UInt8]?, tls: ServerTLSContext? = nil) throws {
        let listener = try Listener()
        self.listener = listener
        Thread.detachNewThread { [self] in
            defer { finished.signal() }
            guard let fd = listener.accept(milliseconds: 10_000) else { return }
            defer { close(fd) }
            var ssl: OpaquePointer?
            if let tls {
                ssl = SSL_new(tls.context)
                SSL_set_fd(ssl, fd)
                guard SSL_accept(ssl) == 1 else { SSL_free(ssl); return }
            }
            defer { if let ssl { SSL_free(ssl) } }
            let request = Self.readRequest(fd: fd, ssl: ssl)
            captured.withLock { $0 = request }
            guard let response else {
                // Never answer: wait (bounded) for the client to give up and close.
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&entry, 1, 10_000)
                return
            }
            withSIGPIPEBlocked {
                response.withUnsafeBytes { raw in
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
    }

    /// The request bytes received, after the receiver has finished (bounded wait).
    func receivedRequest() -> [UInt8] {
        _ = finished.wait(timeout: .now() + 10)
        return captured.withLock { $0 }
    }

    /// Reads a head and a Content-Length body.
    private static func readRequest(fd: Int32, ssl: OpaquePointer?) -> [UInt8] {
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
