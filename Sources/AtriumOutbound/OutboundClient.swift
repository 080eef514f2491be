import CAtriumSystem
import Glibc

/// Blocking HTTP/1.1 client for webhook deliveries (callers run it on a worker thread).
///
/// It exists instead of URLSession because the SSRF guard must sit between DNS and connect:
/// the client resolves the name itself, checks EVERY resolved address with `AddressPolicy`,
/// and connects to the address it checked, so a DNS answer that changes between check and
/// use (DNS rebinding) cannot slip through. One attempt is one connection with one overall
/// timeout; redirects are never followed (a 3xx is just the delivery's result).
public final class OutboundClient: Sendable {
    public let configuration: OutboundClientConfiguration
    private let tls: TLSContext

    public init(configuration: OutboundClientConfiguration) throws(OutboundError) {
        self.configuration = configuration
        self.tls = try TLSContext(caFile: configuration.caFile)
    }

    public func send(_ request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        do throws(OutboundError) {
            return .success(try perform(request))
        } catch {
            return .failure(error)
        }
    }

    private func perform(_ request: OutboundRequest) throws(OutboundError) -> OutboundResponse {
        let deadline = Deadline(secondsFromNow: configuration.timeoutSeconds)
        let head = try Self.serializeHead(request)
        let addresses = try resolve(request.url, deadline: deadline)
        if !configuration.allowPrivateAddresses {
            if let bad = addresses.first(where: AddressPolicy.isForbidden) {
                throw OutboundError(.forbiddenAddress, "\(request.url.host) resolves to forbidden address \(bad)")
            }
        }
        let socket = try connectAny(addresses, port: request.url.port, deadline: deadline)
        let transport: any Transport = request.url.isHTTPS
            ? try TLSTransport(socket: socket, context: tls, host: request.url.host, deadline: deadline)
            : PlainTransport(socket: socket)
        try transport.write(head + request.body, deadline: deadline)
        var reader = ResponseReader(source: transport, deadline: deadline)
        return try reader.readResponse(requestMethod: request.method)
    }

    /// The literal itself, or every address the resolver returns (deduplicated, in order),
    /// within what is left of the attempt's deadline.
    private func resolve(_ url: WebhookURL, deadline: Deadline) throws(OutboundError) -> [IPAddress] {
        if let literal = url.literalAddress { return [literal] }
        var list: UnsafeMutablePointer<addrinfo>?
        let status = atrium_resolve(url.host, max(1, deadline.remainingMilliseconds), &list)
        guard status != ATRIUM_RESOLVE_TIMEOUT else {
            throw OutboundError(.timeout, "resolving \(url.host) took longer than the attempt's timeout")
        }
        guard status == 0 else {
            throw OutboundError(.dnsFailure, "cannot resolve \(url.host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var cursor = list
        while let entry = cursor?.pointee {
            cursor = entry.ai_next
            guard let raw = entry.ai_addr else { continue }
            let address: IPAddress
            if entry.ai_family == AF_INET {
                let sin = UnsafeRawPointer(raw).loadUnaligned(as: sockaddr_in.self)
                address = .v4(UInt32(bigEndian: sin.sin_addr.s_addr))
            } else if entry.ai_family == AF_INET6 {
                var sin6 = UnsafeRawPointer(raw).loadUnaligned(as: sockaddr_in6.self)
                address = .v6(withUnsafeBytes(of: &sin6.sin6_addr) { Array($0) })
            } else {
                continue
            }
            if !addresses.contains(address) { addresses.append(address) }
        }
        guard !addresses.isEmpty else { throw OutboundError(.dnsFailure, "no addresses for \(url.host)") }
        return addresses
    }

    /// Tries each checked address in turn until one connects or the deadline passes.
    private func connectAny(_ addresses: [IPAddress], port: Int, deadline: Deadline) throws(OutboundError) -> Socket {
        var lastError = OutboundError(.connectFailed, "no address to connect to")
        for address in addresses {
            do throws(OutboundError) {
                return try Socket.connect(to: address, port: port, deadline: deadline)
            } catch {
                if error.kind == .timeout { throw error }
                lastError = error
            }
        }
        throw lastError
    }

    /// Caller headers whose framing role belongs to the client.
    private static let reservedHeaders: Set<String> = ["host", "content-length", "connection", "transfer-encoding"]

    /// Request line, Host, the caller's headers in order, Content-Length, Connection: close.
    static func serializeHead(_ request: OutboundRequest) throws(OutboundError) -> [UInt8] {
        let method = Array(request.method.utf8)
        guard !method.isEmpty, method.allSatisfy(ResponseReader.isTokenByte) else {
            throw OutboundError(.protocolError, "invalid method")
        }
        var head: [UInt8] = []
        head.reserveCapacity(256)
        func line(_ text: String) { head.append(contentsOf: text.utf8); head.append(contentsOf: [0x0D, 0x0A]) }
        line("\(request.method) \(request.url.pathAndQuery) HTTP/1.1")
        line("Host: \(request.url.hostHeader)")
        for (name, value) in request.headers {
            let nameBytes = Array(name.utf8)
            guard !nameBytes.isEmpty, nameBytes.allSatisfy(ResponseReader.isTokenByte) else {
                throw OutboundError(.protocolError, "invalid header name")
            }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else {
                throw OutboundError(.protocolError, "invalid value for header \(name)")
            }
            if reservedHeaders.contains(name.lowercased()) { continue }
            line("\(name): \(value)")
        }
        line("Content-Length: \(request.body.count)")
        line("Connection: close")
        line("")
        return head
    }
}
