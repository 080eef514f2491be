import AtriumSystem
import CAtriumSystem
import Glibc

/// A failed system call while starting or running the server.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let errno: Int32

    public init(operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        "\(operation) failed: \(String(cString: strerror(errno)))"
    }
}

/// What every event loop shares: immutable after start, or thread-safe by construction.
final class ServerShared: Sendable {
    let configuration: HTTPServerConfiguration
    let router: Router
    let metrics: HTTPMetrics
    let workers: WorkerPool
    /// One listening socket per event loop, all on the same port (SO_REUSEPORT): the kernel
    /// spreads connections evenly, so no loop takes a burst of accepts meant for all.
    let listenFDs: [Int32]
    let renderError: HTTPErrorRenderer
    let logSink: LogSink

    init(configuration: HTTPServerConfiguration, router: Router, metrics: HTTPMetrics, workers: WorkerPool,
         listenFDs: [Int32], renderError: @escaping HTTPErrorRenderer, logSink: LogSink) {
        self.configuration = configuration
        self.router = router
        self.metrics = metrics
        self.workers = workers
        self.listenFDs = listenFDs
        self.renderError = renderError
        self.logSink = logSink
    }
}

/// The HTTP/1.1 server: a listening socket, a fixed set of epoll event loops (one thread
/// each), and a bounded worker pool for handlers that block.
public final class HTTPServer: Sendable {
    /// The port actually bound (useful with port 0).
    public let port: Int
    public let metrics: HTTPMetrics
    private let shared: ServerShared
    private let loops: [EventLoop]
    private let threads: [pthread_t]

    /// Binds, listens and starts the loops.
    public init(
        configuration: HTTPServerConfiguration, router: Router,
        renderError: @escaping HTTPErrorRenderer, logSink: LogSink = LogSink()
    ) throws(HTTPServerError) {
        let loopCount = max(1, configuration.eventLoopCount)
        let first = atrium_listen(configuration.host, Int32(configuration.port), 4096, 1)
        guard first >= 0 else {
            throw HTTPServerError(operation: "listen on \(configuration.host):\(configuration.port)", errno: -first)
        }
        port = Int(atrium_local_port(first))
        var listenFDs = [first]
        for _ in 1..<loopCount {
            let fd = atrium_listen(configuration.host, Int32(port), 4096, 0)
            guard fd >= 0 else {
                for open in listenFDs { close(open) }
                throw HTTPServerError(operation: "listen on \(configuration.host):\(port)", errno: -fd)
            }
            listenFDs.append(fd)
        }
        metrics = HTTPMetrics(templates: router.routes.map { "\($0.method.rawValue) \($0.template)" })
        let workers = WorkerPool(name: "atrium-worker", threadCount: configuration.workerThreadCount,
                                 capacity: configuration.workerQueueCapacity,
                                 tenantCapacity: configuration.tenantQueueLimit, fair: configuration.fairScheduling)
        shared = ServerShared(configuration: configuration, router: router, metrics: metrics, workers: workers,
                              listenFDs: listenFDs, renderError: renderError, logSink: logSink)
        var loops: [EventLoop] = []
        for index in 0..<loopCount {
            loops.append(try EventLoop(index: index, shared: shared))
        }
        self.loops = loops
        threads = loops.map { loop in OSThread.spawn(name: "atrium-loop-\(loop.index)") { loop.run() } }
    }

    /// Graceful stop: no new connections, idle ones closed, in-flight requests finished
    /// (up to the configured grace period), then every loop and worker stopped.
    public func shutdown() {
        for loop in loops { loop.beginShutdown() }
        // Once no loop watches them, close the listening sockets: the kernel then refuses new
        // connections (and resets those still in the backlog) instead of queueing them.
        let acceptDeadline = atrium_monotonic_ns() &+ 1_000_000_000
        while loops.contains(where: { !$0.stoppedAccepting.load(ordering: .acquiring) })
                && atrium_monotonic_ns() < acceptDeadline {
            usleep(1000)
        }
        for fd in shared.listenFDs {
            Glibc.shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
        let deadline = atrium_monotonic_ns() &+ UInt64(shared.configuration.shutdownGraceSeconds * 1e9)
        while metrics.openConnectionCount > 0 && atrium_monotonic_ns() < deadline {
            usleep(10_000)
        }
        for loop in loops { loop.stop() }
        for thread in threads { OSThread.join(thread) }
        shared.workers.shutdown()
    }
}
