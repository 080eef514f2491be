import AtriumClient
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `atrium serve --port 0` with a fresh data directory, as clients meet it.
final class LiveServer: @unchecked Sendable {
    // @unchecked Sendable: every field is set once in init.
    let process: Process
    let port: Int
    let directory: String

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    init(_ flags: [String] = []) throws {
        directory = NSTemporaryDirectory() + "atrium-sdk-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = LiveServer.root.appendingPathComponent(".build/debug/atrium")
        process.arguments = ["serve", "--port", "0", "--data-dir", directory, "--password-iterations", "1000",
                             "--access-log", "false"] + flags
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let handle = pipe.fileHandleForReading
        var collected = ""
        var found: Int?
        let deadline = Date().addingTimeInterval(20)
        while found == nil, Date() < deadline {
            let data = handle.availableData
            if data.isEmpty { break }
            collected += String(decoding: data, as: UTF8.self)
            if let range = collected.range(of: "listening on http://127.0.0.1:") {
                found = Int(collected[range.upperBound...].prefix { $0.isNumber })
            }
        }
        guard let found else {
            process.terminate()
            throw Failure("server did not start: \(collected)")
        }
        port = found
        Thread.detachNewThread { while !handle.availableData.isEmpty {} }
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Signs a new user up and returns a session client (and the signup answer).
    func signUp(_ tag: String = "u", workspace: Int64? = nil, transport: any HTTPTransport = URLSessionTransport(),
                onChange: (@Sendable (SessionTokens?) async -> Void)? = nil) async throws -> (AtriumClient, SignupResult) {
        let anonymous = AtriumClient(AtriumConfiguration(baseURL: baseURL, credential: .apiKey(""), transport: transport))
        let email = "\(tag)-\(UUID().uuidString.prefix(8).lowercased())@example.com"
        let result = try await anonymous.auth.signup(Signup(email: email, password: "correct horse", name: tag))
        let tokens = SessionTokens(accessToken: result.accessToken, refreshToken: result.refreshToken,
                                   expiresAt: Date().addingTimeInterval(TimeInterval(result.expiresIn)))
        let client = AtriumClient(AtriumConfiguration(
            baseURL: baseURL, credential: .session(SessionStore(tokens, onChange: onChange)), workspace: workspace,
            retry: RetryPolicy(initialDelay: .milliseconds(20), maxDelay: .milliseconds(200)), transport: transport))
        return (client, result)
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Records every request and answer passing through, and can lose answers on purpose.
final class RecordingTransport: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: mutable state only under `lock`.
    struct Exchange: Sendable {
        let request: URLRequest
        let answer: HTTPAnswer?
    }

    let inner: any HTTPTransport
    private let lock = NSLock()
    private var log: [Exchange] = []
    /// Called with each request; true: forward it, then throw "connection lost" instead of answering.
    private let loseAnswer: @Sendable (URLRequest) -> Bool

    init(_ inner: any HTTPTransport = URLSessionTransport(), loseAnswer: @escaping @Sendable (URLRequest) -> Bool = { _ in false }) {
        self.inner = inner
        self.loseAnswer = loseAnswer
    }

    var exchanges: [Exchange] { lock.withLock { log } }

    func requests(to path: String) -> [URLRequest] {
        exchanges.map(\.request).filter { $0.url?.path == path }
    }

    func send(_ request: URLRequest, timeout: Duration) async throws -> HTTPAnswer {
        let answer = try await inner.send(request, timeout: timeout)
        lock.withLock { log.append(Exchange(request: request, answer: answer)) }
        if loseAnswer(request) {
            throw AtriumError(status: 0, code: ErrorCode(rawValue: "TRANSPORT"), message: "connection lost (test)",
                              transport: .connectionLost("test"))
        }
        return answer
    }
}

/// Answers from a script, without a server.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: mutable state only under `lock`.
    private let lock = NSLock()
    private var answers: [Result<HTTPAnswer, AtriumError>]
    private(set) var requests: [URLRequest] = []

    init(_ answers: [Result<HTTPAnswer, AtriumError>]) { self.answers = answers }

    var sent: [URLRequest] { lock.withLock { requests } }

    func send(_ request: URLRequest, timeout: Duration) async throws -> HTTPAnswer {
        let next: Result<HTTPAnswer, AtriumError> = lock.withLock {
            requests.append(request)
            return answers.isEmpty ? .success(ScriptedTransport.json(200, "{}")) : answers.removeFirst()
        }
        return try next.get()
    }

    static func json(_ status: Int, _ body: String, headers: [String: String] = [:]) -> HTTPAnswer {
        HTTPAnswer(status: status, headers: headers.merging(["x-request-id": "req-\(status)"]) { a, _ in a },
                   body: Data(body.utf8))
    }

    static func error(_ status: Int, _ code: String, headers: [String: String] = [:]) -> Result<HTTPAnswer, AtriumError> {
        .success(json(status, #"{"success":false,"error":{"code":"\#(code)","message":"m","request_id":"req-\#(status)"}}"#,
                      headers: headers))
    }
}

extension URLRequest {
    func header(_ name: String) -> String? { value(forHTTPHeaderField: name) }
}

/// Answers with a closure, like a tiny server.
final class ClosureTransport: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: `log` only under `lock`.
    private let lock = NSLock()
    private var log: [URLRequest] = []
    let answer: @Sendable (URLRequest) async throws -> HTTPAnswer

    init(_ answer: @escaping @Sendable (URLRequest) async throws -> HTTPAnswer) { self.answer = answer }

    var requests: [URLRequest] { lock.withLock { log } }

    func send(_ request: URLRequest, timeout: Duration) async throws -> HTTPAnswer {
        lock.withLock { log.append(request) }
        return try await answer(request)
    }
}
