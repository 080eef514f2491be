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
    /// The streaming response under way (`HTTPResponse.stream`); no request is read meanwhile.
    var stream: HTTPStream?
    /// The streaming response is close-delimited (HTTP/1.0) instead of chunked.
    var streamUnframed = false

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
    let payload: Payload

    init(fd: Int32, generation: UInt32, response: HTTPResponse?) {
        self.init(fd: fd, generation: generation, payload: .response(response))
    }

    init(fd: Int32, generation: UInt32, payload: Payload) {
        self.fd = fd
        self.generation = generation
        self.payload = payload
    }

    enum Payload: Sendable {
        /// A handler's answer; nil when it dropped its responder without answering (500).
        case response(HTTPResponse?)
        /// The next chunk of a streaming response (`HTTPStream.send`).
        case chunk([UInt8])
        /// A streaming response is over: the final chunk, then close (`HTTPStream.finish`).
        case end
        /// A streaming response's client fell too far behind: close without a final chunk.
        case drop
    }
}
