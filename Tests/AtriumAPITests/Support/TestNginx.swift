import AtriumTestSupport
import Foundation
import Glibc

/// Debian's nginx in front of several `atrium serve` instances, with the configuration of
/// docs/deployment.md ("Several instances"), in a temporary directory on a free port;
/// stopped (and the directory removed) when released. It runs with its master process: the
/// test process blocks most signals and children inherit that mask, which nginx's single
/// process mode never clears (it would ignore SIGTERM); the master's `sigsuspend` does.
final class TestNginx: @unchecked Sendable {
    // @unchecked Sendable: every property is set once in init.
    let port: Int
    let directory: String
    private let process: Process

    /// The nginx binary, or nil when it is not installed (`make deps` installs nginx-light).
    static var binary: String? {
        ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init(upstreams: [Int]) throws {
        guard let binary = Self.binary else { throw TestFailure("nginx is not installed (make deps)") }
        let directory = TestServer.makeTemporaryDirectory()
        self.directory = directory
        port = try Self.freePort()
        let servers = upstreams.map { "        server 127.0.0.1:\($0) max_fails=1 fail_timeout=5s;" }
            .joined(separator: "\n")
        let configuration = try Self.configuration
            .replacingOccurrences(of: "        server 127.0.0.1:8081 max_fails=1 fail_timeout=5s;\n"
                                  + "        server 127.0.0.1:8082 max_fails=1 fail_timeout=5s;", with: servers)
            .replacingOccurrences(of: "listen 80;", with: "listen 127.0.0.1:\(port);")
        let header = """
            daemon off;
            worker_processes 1;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log warn;
            events { worker_connections 512; }

            """
        let temporaries = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .map { "    \($0)_temp_path \(directory)/\($0);" }.joined(separator: "\n")
        let full = header + configuration.replacingOccurrences(
            of: "http {\n", with: "http {\n    access_log off;\n\(temporaries)\n")
        try full.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-p", directory, "-c", directory + "/nginx.conf", "-e", directory + "/error.log"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let client = try? HTTPTestClient(port: port), (try? client.request("GET", "/healthz")) != nil { return }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        let log = (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? ""
        process.terminate()
        throw TestFailure("nginx did not start: \(log)")
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    func client() throws -> HTTPTestClient { try HTTPTestClient(port: port) }

    /// The `http` block docs/deployment.md shows (kept identical: the test reads it from there).
    static var configuration: String {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent()
            let text = try String(contentsOf: root.appendingPathComponent("docs/deployment.md"), encoding: .utf8)
            guard let start = text.range(of: "```nginx\n"),
                  let end = text.range(of: "\n```", range: start.upperBound..<text.endIndex) else {
                throw TestFailure("docs/deployment.md has no ```nginx block")
            }
            return String(text[start.upperBound..<end.lowerBound]) + "\n"
        }
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard Glibc.bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw TestFailure("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
