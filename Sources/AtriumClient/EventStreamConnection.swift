import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What one connection of an ``EventStream`` reports, in order: the response head, body bytes as
/// they arrive, then exactly one of `ended` or `idle`.
enum StreamChunk: Sendable {
    case response(status: Int, headers: [String: String])
    case bytes(Data)
    /// The transfer ended: nil after a complete body, else why it failed.
    case ended(TransportFailure?)
    /// No byte (not even a heartbeat) arrived for the idle timeout: the connection is taken as dead.
    case idle
}

/// One streaming `GET` on its own `URLSession`, with a data delegate that feeds an `AsyncStream`
/// (FoundationNetworking has no `bytes(for:)`).
///
/// **Stopping it.** On Linux it never calls `URLSessionTask.cancel()`: on Swift 6.3's
/// FoundationNetworking a cancel that races the transfer's end crashes the process
/// (`../shared/design/sdk.md` §2, swift-corelibs-foundation #3296), and `invalidateAndCancel()` is the
/// same call in a loop. A stream is stopped instead with `suspend()`, which takes the transfer's
/// libcurl handle out of the session's multi handle: libcurl closes the HTTP/1.1 connection at once
/// (so the server ends its side of the stream) and no `didFailWithError` runs, so nothing looks the
/// task up after it completed. What completes the task is FoundationNetworking's own request timer
/// (`timeoutInterval`, set to the idle timeout + 1 s; it restarts on every byte received, so it is
/// an idle timer), which is also the backstop for a connection that hangs before its answer. A stop
/// before the answer head is delivered answers it with `.cancel` (the delegate's own, safe way).
/// On Apple platforms `cancel()` is sound and is used.
final class EventStreamConnection: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // @unchecked Sendable: the mutable fields are touched only under `lock`; `continuation` is
    // Sendable; the delegate methods run on the session's serial delegate queue.
    let chunks: AsyncStream<StreamChunk>
    private let continuation: AsyncStream<StreamChunk>.Continuation
    private let idleTimeout: Duration
    private let lock = NSLock()
    private var session: URLSession?
    private var task: URLSessionDataTask?
    private var stopped = false
    private var answered = false
    private var lastByte = ContinuousClock.now
    private var watchdog: Task<Void, Never>?

    /// Starts `request`; the answer arrives on `chunks`.
    init(_ request: URLRequest, idleTimeout: Duration) {
        (chunks, continuation) = AsyncStream.makeStream(of: StreamChunk.self)
        self.idleTimeout = idleTimeout
        super.init()
        var request = request
        // Whole seconds: FoundationNetworking truncates the interval.
        request.timeoutInterval = (idleTimeout.seconds + 1).rounded(.up)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.timeoutIntervalForRequest = request.timeoutInterval
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1  // bytes in order
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        let task = session.dataTask(with: request)
        lock.withLock {
            self.session = session
            self.task = task
        }
        continuation.onTermination = { [weak self] _ in self?.stop() }
        task.resume()
        // The session keeps its delegate (this object) until the task ends, then lets both go.
        session.finishTasksAndInvalidate()
        let watchdog = Task { [weak self, idleTimeout] in
            var wake = ContinuousClock.now + idleTimeout
            while !Task.isCancelled {
                try? await Task.sleep(until: wake, clock: .continuous)
                guard let self, !Task.isCancelled else { return }
                let last = self.lock.withLock { self.lastByte }
                if ContinuousClock.now - last >= idleTimeout {
                    self.continuation.yield(.idle)
                    self.stop()
                    return
                }
                wake = last + idleTimeout
            }
        }
        let alreadyStopped: Bool = lock.withLock {
            if !stopped { self.watchdog = watchdog }
            return stopped
        }
        if alreadyStopped { watchdog.cancel() }
    }

    /// Ends the connection: no more chunks are delivered, and the transfer is stopped without
    /// `URLSessionTask.cancel()` on Linux (see the type's comment). Safe to call more than once.
    func stop() {
        let (task, wasAnswered, watchdog): (URLSessionDataTask?, Bool, Task<Void, Never>?) = lock.withLock {
            guard !stopped else { return (nil, false, nil) }
            stopped = true
            let taken = (self.task, answered, self.watchdog)
            self.task = nil
            self.session = nil
            self.watchdog = nil
            return taken
        }
        continuation.finish()
        watchdog?.cancel()
        guard let task else { return }
        #if canImport(FoundationNetworking)
        // Before the head was answered, `didReceive response` answers `.cancel` instead.
        if wasAnswered { task.suspend() }
        #else
        _ = wasAnswered
        task.cancel()
        #endif
    }

    private func touch() {
        lock.withLock { lastByte = .now }
    }

    // MARK: URLSessionDataDelegate

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        touch()
        let proceed: Bool = lock.withLock {
            guard !stopped else { return false }
            answered = true
            return true
        }
        guard proceed, let http = response as? HTTPURLResponse else {
            if proceed { continuation.yield(.ended(.invalidResponse("not an HTTP response"))) }
            completionHandler(.cancel)
            if proceed { stop() }
            return
        }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        continuation.yield(.response(status: http.statusCode, headers: headers))
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        touch()
        continuation.yield(.bytes(data))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if let error {
            let code = (error as? URLError)?.code
            let text = error.localizedDescription
            let failure: TransportFailure = switch code {
            case .cannotConnectToHost?, .cannotFindHost?, .dnsLookupFailed?: .cannotConnect(text)
            case .timedOut?: .timedOut
            default: .connectionLost(text)
            }
            continuation.yield(.ended(failure))
        } else {
            continuation.yield(.ended(nil))
        }
        // Marked stopped before `finish()`, whose termination handler must not touch a task
        // that has completed.
        let watchdog: Task<Void, Never>? = lock.withLock {
            stopped = true
            self.task = nil
            self.session = nil
            defer { self.watchdog = nil }
            return self.watchdog
        }
        continuation.finish()
        watchdog?.cancel()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)  // FoundationNetworking would forward `Authorization` to another host
    }
}
