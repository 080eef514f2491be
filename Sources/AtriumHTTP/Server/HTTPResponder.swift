import Synchronization

/// A request's way back to its connection, for a handler that answers later than it returns
/// (after a group commit, say) or from another thread than the one it ran on.
///
/// It exists so that a worker need not sit blocked while something else finishes the
/// request: the handler keeps the responder, returns, and whoever finishes calls
/// `respond` once. The first answer wins and later ones are ignored. A responder dropped
/// without an answer answers `500 INTERNAL` itself, so a forgotten path can never
/// leave a client waiting on a connection that is marked busy for ever.
public final class HTTPResponder: Sendable {
    private let loop: EventLoop
    private let fd: Int32
    private let generation: UInt32
    private let answered = Atomic<Bool>(false)

    init(loop: EventLoop, fd: Int32, generation: UInt32) {
        self.loop = loop
        self.fd = fd
        self.generation = generation
    }

    /// Sends `response` for this request (from any thread); only the first call counts.
    public func respond(_ response: HTTPResponse) {
        guard claim() else { return }
        loop.complete(Completion(fd: fd, generation: generation, response: response))
    }

    /// The server answered the request some other way (a full worker pool's 503): the
    /// responder must neither answer nor, when dropped, complain.
    func withdraw() {
        _ = claim()
    }

    private func claim() -> Bool {
        !answered.exchange(true, ordering: .acquiringAndReleasing)
    }

    deinit {
        if claim() {
            loop.complete(Completion(fd: fd, generation: generation, response: nil))
        }
    }
}
