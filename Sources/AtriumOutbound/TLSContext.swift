import COpenSSL

/// The client's SSL_CTX: built once (trust store, verification mode, minimum TLS 1.2) and
/// then only read, shared by every delivery.
///
/// `@unchecked Sendable` is safe because the SSL_CTX is fully configured in `init` and never
/// mutated afterwards; OpenSSL documents SSL_new on a shared, unmodified SSL_CTX as safe from
/// many threads (the context's reference count and session cache are internally locked).
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer

    init(caFile: String?) throws(OutboundError) {
        guard let method = TLS_client_method(), let context = SSL_CTX_new(method) else {
            throw OutboundError(.tlsFailure, "SSL_CTX_new failed: \(TLSContext.drainErrors())")
        }
        self.context = context
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        guard SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil) == 1 else {
            throw OutboundError(.tlsFailure, "cannot require TLS 1.2")
        }
        // A receiver that closes without close_notify is common; framing is HTTP's job.
        SSL_CTX_set_options(context, UInt64(1) << 7 /* SSL_OP_IGNORE_UNEXPECTED_EOF */)
        guard SSL_CTX_set_default_verify_paths(context) == 1 else {
            throw OutboundError(.tlsFailure, "cannot load system CA store: \(TLSContext.drainErrors())")
        }
        if let caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw OutboundError(.tlsFailure, "cannot load CA file \(caFile): \(TLSContext.drainErrors())")
            }
        }
    }

    deinit { SSL_CTX_free(context) }

    /// Empties this thread's OpenSSL error queue into one line.
    static func drainErrors() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            messages.append(textOfCBuffer(text))
        }
        return messages.isEmpty ? "no OpenSSL error" : messages.joined(separator: "; ")
    }
}
