import COpenSSL
import Glibc

/// HTTPS over a connected socket: SNI, peer verification against the URL's host (DNS name
/// or IP), all non-blocking so the overall deadline also bounds the handshake.
final class TLSTransport: Transport {
    private let socket: Socket
    private let ssl: OpaquePointer

    /// Creates the session and completes the handshake; on return the peer is verified.
    init(socket: Socket, context: TLSContext, host: String, deadline: Deadline) throws(OutboundError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.context) else {
            throw OutboundError(.tlsFailure, "SSL_new failed: \(TLSContext.drainErrors())")
        }
        self.socket = socket
        self.ssl = ssl
        guard SSL_set_fd(ssl, socket.fd) == 1 else {
            throw OutboundError(.tlsFailure, "SSL_set_fd failed: \(TLSContext.drainErrors())")
        }
        if AddressPolicy.literalAddress(host) != nil {
            // IP literal: no SNI (RFC 6066 forbids it), match an IP subjectAltName.
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 else {
                throw OutboundError(.tlsFailure, "cannot set expected IP \(host)")
            }
        } else {
            let sniSet = host.withCString { name in
                SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name),
                         UnsafeMutableRawPointer(mutating: name))
            }
            SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            guard sniSet == 1, SSL_set1_host(ssl, host) == 1 else {
                throw OutboundError(.tlsFailure, "cannot set expected host \(host)")
            }
        }
        while true {
            ERR_clear_error()
            let result = SSL_connect(ssl)
            if result == 1 { break }
            try waitOrFail(result, deadline: deadline, what: "TLS handshake")
        }
        let verify = SSL_get_verify_result(ssl)
        guard verify == Int(X509_V_OK) else {
            throw OutboundError(.tlsFailure, "certificate: \(String(cString: X509_verify_cert_error_string(verify)))")
        }
    }

    deinit {
        ERR_clear_error()
        _ = withSIGPIPEBlocked { SSL_shutdown(ssl) }
        ERR_clear_error()
        SSL_free(ssl)
    }

    func write(_ bytes: [UInt8], deadline: Deadline) throws(OutboundError) {
        var offset = 0
        while offset < bytes.count {
            let chunk = Int32(clamping: bytes.count - offset)
            ERR_clear_error()
            let written = withSIGPIPEBlocked {
                bytes.withUnsafeBytes { raw in
                    raw.baseAddress.map { SSL_write(ssl, $0 + offset, chunk) } ?? -1
                }
            }
            if written > 0 { offset += Int(written); continue }
            try waitOrFail(written, deadline: deadline, what: "write")
        }
    }

    func read(capacity: Int, deadline: Deadline) throws(OutboundError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: capacity)
        while true {
            ERR_clear_error()
            let count = withSIGPIPEBlocked {
                buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32(clamping: $0.count)) }
            }
            if count > 0 { return Array(buffer[0..<Int(count)]) }
            let error = SSL_get_error(ssl, count)
            if error == SSL_ERROR_ZERO_RETURN { return [] }
            if error == SSL_ERROR_SYSCALL && (errno == 0 || errno == ECONNRESET) { return [] }
            try waitOrFail(count, deadline: deadline, what: "read")
        }
    }

    /// Waits when OpenSSL wants the socket readable/writable; otherwise throws tlsFailure.
    private func waitOrFail(_ result: Int32, deadline: Deadline, what: String) throws(OutboundError) {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ:
            try socket.wait(for: Int16(POLLIN), deadline: deadline, what: what)
        case SSL_ERROR_WANT_WRITE:
            try socket.wait(for: Int16(POLLOUT), deadline: deadline, what: what)
        default:
            let verify = SSL_get_verify_result(ssl)
            let reason = verify == Int(X509_V_OK)
                ? TLSContext.drainErrors()
                : "certificate: \(String(cString: X509_verify_cert_error_string(verify)))"
            throw OutboundError(.tlsFailure, "\(what) failed: \(reason)")
        }
    }
}

/// Runs `body` with SIGPIPE blocked on this thread and swallows a SIGPIPE it raised.
/// OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when the peer has gone;
/// the default action would kill the whole server.
func withSIGPIPEBlocked<T>(_ body: () -> T) -> T {
    var block = sigset_t()
    sigemptyset(&block)
    sigaddset(&block, SIGPIPE)
    var previous = sigset_t()
    pthread_sigmask(SIG_BLOCK, &block, &previous)
    let result = body()
    if sigismember(&previous, SIGPIPE) == 0 {
        var pending = sigset_t()
        sigpending(&pending)
        if sigismember(&pending, SIGPIPE) == 1 {
            var zero = timespec()
            _ = sigtimedwait(&block, nil, &zero)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
    return result
}
