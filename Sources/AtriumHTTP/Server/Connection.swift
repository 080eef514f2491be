/// One client connection, owned by exactly one event loop thread.
///
/// Kept small on purpose: an idle keep-alive connection is this object, a file descriptor
/// and an epoll registration. The parser holds bytes only while a request is incomplete, and
/// `pendingOutput` only while the socket would not take a whole response.
final class Connection {
    let fd: Int32
    /// Distinguishes this connection from a later one that reuses the same fd, so a late
    /// worker completion can never be written to the wrong client.
    let generation: UInt32
    let clientAddress: String
    var parser: RequestParser
    /// Unsent response bytes (empty when the socket took everything).
    var pendingOutput: [UInt8] = []
    var pendingOffset = 0
    /// Reading stopped because too much pipelined input is buffered; resume after the response.
    var readPaused = false
    /// Close once the pending output is written.
    var closeAfterWrite = false
    var peerClosed = false
    /// The current request, while a handler runs.
    var inflight: InflightRequest?
    /// The phase (idle, reading a head or body, in a handler, writing, draining) and the
    /// deadline it runs against.
    var state: ConnectionStateMachine

    init(fd: Int32, generation: UInt32, clientAddress: String, limits: HTTPLimits, now: UInt64) {
        self.fd = fd
        self.generation = generation
        self.clientAddress = clientAddress
        self.parser = RequestParser(limits: limits)
        self.state = ConnectionStateMachine(now: now)
    }

    var hasPendingOutput: Bool { pendingOffset < pendingOutput.count }
}

/// What a loop remembers about a request handed to the worker pool.
struct InflightRequest {
    let requestID: String
    let method: HTTPMethod
    let routeIndex: Int
    let routeTemplate: String
    let startedAt: UInt64
    let headOnly: Bool
    let keepAlive: Bool
    let http10: Bool
}

/// A worker's answer on its way back to the loop that owns the connection.
struct Completion: Sendable {
    let fd: Int32
    let generation: UInt32
    /// Nil when the handler dropped its responder without answering (the loop sends a 500).
    let response: HTTPResponse?
}
