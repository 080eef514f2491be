/// Knobs for the outbound client, set once from server configuration.
public struct OutboundClientConfiguration: Sendable {
    /// Lets tests and private deployments deliver to loopback/private targets.
    public var allowPrivateAddresses = false
    /// Overall budget for one attempt: connect, TLS, write and the whole response.
    public var timeoutSeconds: Double = 15
    /// Extra CA bundle (PEM) for private CAs; system defaults otherwise.
    public var caFile: String?

    public init() {}
}
