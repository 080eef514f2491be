/// Everything the HTTP layer can be told: where to listen, how many threads, and every limit
/// and timeout of server.md in one place.
public struct HTTPServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 picks an ephemeral port; `HTTPServer.port` tells which.
    public var port: Int = 8080
    public var eventLoopCount: Int = max(1, Int(System.coreCount))
    /// A loop that has run this many microseconds without sleeping in `epoll_wait` yields its
    /// core once (`sched_yield`): under load, the other threads sharing the core then wait
    /// about this long for it instead of a whole scheduler time slice (several ms), which is
    /// what sets the tail latency on a busy machine. 0 never yields.
    public var busyYieldMicroseconds: Int = 200
    public var workerThreadCount: Int = 32
    /// Jobs that may wait for a worker before requests are answered 503.
    public var workerQueueCapacity: Int = 4096
    /// Queue waiting work per tenant and serve tenants in turn (`FairQueue`); false serves
    /// every pool first come, first served (kept for comparison in `make bench`).
    public var fairScheduling = true
    /// Jobs one tenant may have waiting in a pool before its further requests get 503.
    public var tenantQueueLimit: Int = 256
    public var limits = HTTPLimits()
    public var maxConnections: Int = 20_000
    public var headerTimeoutSeconds: Double = 10
    public var bodyTimeoutSeconds: Double = 30
    public var idleTimeoutSeconds: Double = 60
    /// The most bytes a streaming response may have waiting for its client (queued or unsent);
    /// a client that falls further behind is dropped. Larger than the largest event (a record's
    /// data is at most 64 KiB), so one event alone never drops a client that reads.
    public var streamBufferBytes: Int = 256 * 1024
    /// How long a graceful shutdown waits for in-flight requests.
    public var shutdownGraceSeconds: Double = 10
    /// Write one JSON line per request to standard output.
    public var accessLog: Bool = true

    public init() {}
}

/// Facts about the machine the server sizes itself by.
public enum System {
    public static var coreCount: Int32 {
        Int32(truncatingIfNeeded: sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}

import Glibc
