import AtriumJSON
import Foundation
import Glibc

/// A real `atrium` process on 127.0.0.1 with an ephemeral port and a fresh data directory:
/// the way clients meet the server. Stopped (SIGTERM) when the test releases it.
final class TestServer: @unchecked Sendable {
    // @unchecked Sendable: `process`, `port` and the paths are set once in init; the output
    // pump only appends to `output` under `outputLock`.
    let process: Process
    let port: Int
    let dataDirectory: String
    let arguments: [String]
    private let outputLock = NSLock()
    private var output = ""
    private var stopped = false

    static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["ATRIUM_BINARY"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/atrium").path
    }

    /// Starts a server. `extraArguments` are flags; a fast password KDF is used unless given.
    /// `fileLimit` starts it under `ulimit -n` (through `/bin/sh`, which `exec`s the server, so
    /// the process id is the server's). `engine: .sqlite` keeps the server on SQLite in its data
    /// directory even in the PostgreSQL pass (no `--database-url` or secret is added).
    init(_ extraArguments: [String] = [], dataDirectory: String? = nil, fileLimit: Int? = nil,
         engine: TestEngine.Choice = .configured) throws {
        let directory = dataDirectory ?? TestServer.makeTemporaryDirectory()
        self.dataDirectory = directory
        var arguments = ["serve", "--port", "0", "--data-dir", directory]
        if !extraArguments.contains("--password-iterations") { arguments += ["--password-iterations", "1000"] }
        arguments += extraArguments
        if engine == .configured { arguments = try TestEngine.arguments(arguments) }
        self.arguments = arguments
        process = Process()
        if let fileLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(fileLimit) && exec \"$0\" \"$@\"", TestServer.binaryPath]
                + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: TestServer.binaryPath)
            process.arguments = arguments
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let handle = pipe.fileHandleForReading
        var collected = ""
        var foundPort: Int?
        let deadline = Date().addingTimeInterval(20)
        while foundPort == nil && Date() < deadline {
            let data = handle.availableData
            if data.isEmpty { break }
            collected += String(decoding: data, as: UTF8.self)
            if let range = collected.range(of: "listening on http://127.0.0.1:") {
                let digits = collected[range.upperBound...].prefix { $0.isNumber }
                foundPort = Int(digits)
            }
        }
        guard let foundPort else {
            process.terminate()
            throw TestFailure("server did not start: \(collected)")
        }
        port = foundPort
        output = collected
        let lock = outputLock
        Thread.detachNewThread { [weak self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { return }
                lock.lock()
                self?.output += String(decoding: data, as: UTF8.self)
                lock.unlock()
            }
        }
    }

    deinit { stop() }

    /// Everything the process printed so far.
    var log: String {
        outputLock.lock()
        defer { outputLock.unlock() }
        return output
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard !stopped else { return process.terminationStatus }
        stopped = true
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    /// SIGKILL: no chance to flush anything.
    func kill9() {
        stopped = true
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func client() throws -> HTTPTestClient { try HTTPTestClient(port: port) }

    /// CPU time (user + system) the server process has used so far, in seconds.
    func cpuSeconds() throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)
        // Fields after the command name (which may hold spaces) start at state, field 3.
        guard let close = stat.lastIndex(of: ")") else { throw TestFailure("unreadable /proc stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw TestFailure("unreadable /proc stat: \(stat)")
        }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func makeTemporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "atrium-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
