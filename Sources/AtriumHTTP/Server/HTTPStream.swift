import Synchronization

/// A response whose body goes on after its handler returned: the head is sent at once
/// (without `Content-Length`; chunked for HTTP/1.1, close-delimited for HTTP/1.0) and later
/// chunks are pushed from any thread through the loop that owns the connection.
///
/// It exists so that a long-lived response (Server-Sent Events) costs what an idle
/// connection costs, not a thread: the connection stays on its event loop, and whoever has
/// something to say calls `send`. The hand-off is the one worker completions use (the loop's
/// inbox and its eventfd). Output is bounded: bytes handed over but not yet on the socket
/// may not exceed `bufferLimit`; a client that stops reading is dropped once they would,
/// instead of making the server hold an ever longer tail for it.
public final class HTTPStream: Sendable {
    private let loop: EventLoop
    private let fd: Int32
    private let generation: UInt32
    /// The most bytes that may wait for the client, queued to the loop or unsent on the socket.
    public let bufferLimit: Int
    /// Bytes handed to the loop that it has not taken yet.
    private let queued = Atomic<Int>(0)
    /// Bytes the socket has not taken yet (published by the loop after each write).
    private let unsent = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)
    private let closeObserver = Mutex<(@Sendable () -> Void)?>(nil)

    init(loop: EventLoop, fd: Int32, generation: UInt32, bufferLimit: Int) {
        self.loop = loop
        self.fd = fd
        self.generation = generation
        self.bufferLimit = bufferLimit
    }

    /// Bytes waiting for the client: handed over but not yet taken by the loop, or not yet
    /// taken by the socket. A sender with more to say than fits can wait for this to fall.
    public var waitingBytes: Int { queued.load(ordering: .relaxed) + unsent.load(ordering: .relaxed) }

    /// False once the connection is gone (closed by the client, dropped, ended, shut down).
    public var isOpen: Bool { !closed.load(ordering: .acquiring) }

    /// Queues `bytes` as the next chunk (from any thread). False when the stream is closed, or
    /// when the client is so far behind that the bytes would overflow its buffer: the stream is
    /// then dropped (closed without a final chunk), and the client resumes from what it got.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        guard isOpen, !bytes.isEmpty else { return isOpen }
        let total = queued.add(bytes.count, ordering: .relaxed).newValue
        if total > bufferLimit {
            _ = queued.subtract(bytes.count, ordering: .relaxed)
            loop.complete(Completion(fd: fd, generation: generation, payload: .drop))
            return false
        }
        loop.complete(Completion(fd: fd, generation: generation, payload: .chunk(bytes)))
        return true
    }

    /// Ends the response cleanly: the final chunk, then the connection closes.
    public func finish() {
        guard isOpen else { return }
        loop.complete(Completion(fd: fd, generation: generation, payload: .end))
    }

    /// `observer` runs once when the connection closes, on the loop's thread (signal, don't
    /// work); at once if it is already closed.
    public func onClose(_ observer: @escaping @Sendable () -> Void) {
        let runNow = closeObserver.withLock { current -> Bool in
            if closed.load(ordering: .acquiring) { return true }
            current = observer
            return false
        }
        if runNow { observer() }
    }

    /// The loop took `count` queued bytes into the connection's output.
    func taken(_ count: Int) {
        _ = queued.subtract(count, ordering: .relaxed)
    }

    /// The loop's count of output the socket has not taken.
    func setUnsent(_ count: Int) {
        unsent.store(count, ordering: .relaxed)
    }

    /// The connection is gone: later sends are refused, the observer hears of it once.
    func markClosed() {
        let observer = closeObserver.withLock { current -> (@Sendable () -> Void)? in
            guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return nil }
            let taken = current
            current = nil
            return taken
        }
        observer?()
    }
}

/// How a handler asks for a streaming response: `HTTPResponse.stream`. `opened` runs on the
/// loop's thread once the head is on its way, with the stream to push the body through.
public struct HTTPStreamStart: Sendable {
    public let opened: @Sendable (HTTPStream) -> Void

    public init(opened: @escaping @Sendable (HTTPStream) -> Void) {
        self.opened = opened
    }
}
