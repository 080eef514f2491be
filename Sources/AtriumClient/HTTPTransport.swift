import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What a transport returns: status, headers (names lower-cased) and body.
public struct HTTPAnswer: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Sends one request. Throws `AtriumError` with a `TransportFailure` when no answer arrives,
/// or `CancellationError`.
public protocol HTTPTransport: Sendable {
    func send(_ request: URLRequest, timeout: Duration) async throws -> HTTPAnswer
}

/// URLSession, shaped by what works on Linux (docs/sdk.md): never `URLSessionTask.cancel()`
/// (it races completion and crashes FoundationNetworking), never the async `data(for:)` (it
/// hangs when cancelled as a transfer ends). A completion-handler task resumes a once-only
/// continuation; cancellation and the SDK's own deadline resume it early and leave the transfer
/// to finish on its own; `timeoutInterval` (deadline + 1 s) is the backstop that ends it.
/// Redirects are refused (FoundationNetworking forwards `Authorization` across hosts).
public final class URLSessionTransport: HTTPTransport {
    let session: URLSession

    public init(configuration: URLSessionConfiguration = .ephemeral) {
        configuration.httpShouldSetCookies = false
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }

    deinit {
        // A session retains its delegate until invalidated; running transfers still finish.
        session.finishTasksAndInvalidate()
    }

    public func send(_ request: URLRequest, timeout: Duration) async throws -> HTTPAnswer {
        var request = request
        request.timeoutInterval = timeout.seconds + 1
        let once = Once()
        let session = self.session
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPAnswer, any Error>) in
                once.arm(continuation)
                guard !once.isFinished else { return }  // cancelled before it started
                let task = session.dataTask(with: request) { data, response, error in
                    once.resume(with: Self.answer(data, response, error))
                }
                task.resume()
                let deadline = Task {
                    try? await Task.sleep(for: timeout)
                    once.resume(with: .failure(AtriumError.transport(.timedOut)))
                }
                once.onFinish { deadline.cancel() }
                if Task.isCancelled { once.resume(with: .failure(CancellationError())) }
            }
        } onCancel: {
            once.resume(with: .failure(CancellationError()))
        }
    }

    static func answer(_ data: Data?, _ response: URLResponse?,
                       _ error: (any Error)?) -> Result<HTTPAnswer, any Error> {
        if let error {
            let code = (error as? URLError)?.code
            let text = error.localizedDescription
            switch code {
            case .cannotConnectToHost?, .cannotFindHost?, .dnsLookupFailed?:
                return .failure(AtriumError.transport(.cannotConnect(text)))
            case .timedOut?:
                return .failure(AtriumError.transport(.timedOut))
            default:
                return .failure(AtriumError.transport(.connectionLost(text)))
            }
        }
        guard let http = response as? HTTPURLResponse else {
            return .failure(AtriumError.transport(.invalidResponse("not an HTTP response")))
        }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return .success(HTTPAnswer(status: http.statusCode, headers: headers, body: data ?? Data()))
    }
}

/// A continuation resumed exactly once, by whichever of completion, deadline or cancellation
/// comes first.
final class Once: @unchecked Sendable {
    // @unchecked Sendable: every field is read and written under `lock`.
    private let lock = NSLock()
    private var continuation: CheckedContinuation<HTTPAnswer, any Error>?
    private var pending: Result<HTTPAnswer, any Error>?
    private var finished = false
    private var finish: (@Sendable () -> Void)?

    func arm(_ continuation: CheckedContinuation<HTTPAnswer, any Error>) {
        lock.lock()
        if let pending {
            lock.unlock()
            continuation.resume(with: pending)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished
    }

    func onFinish(_ action: @escaping @Sendable () -> Void) {
        lock.lock()
        if finished {
            lock.unlock()
            action()
            return
        }
        finish = action
        lock.unlock()
    }

    func resume(with result: Result<HTTPAnswer, any Error>) {
        lock.lock()
        guard !finished else { lock.unlock(); return }
        finished = true
        let continuation = self.continuation
        self.continuation = nil
        if continuation == nil { pending = result }
        let finish = self.finish
        self.finish = nil
        lock.unlock()
        continuation?.resume(with: result)
        finish?()
    }
}

/// Refuses every redirect: the answer is the 3xx itself.
final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    // @unchecked Sendable: no state.
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

extension Duration {
    /// Seconds as a floating-point number.
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
