import CAtriumSystem
import Synchronization

/// Request counters by route template and status, a latency histogram and the open
/// connection gauge, shared by every event loop and rendered in the Prometheus text format.
///
/// Counters live in one flat `UInt64` array updated with relaxed atomic adds (C helpers),
/// so recording a request takes no lock and allocates nothing.
public final class HTTPMetrics: @unchecked Sendable {
    // @unchecked Sendable: `counters`, `histogram`, `openConnections` and `shed` point to memory
    // allocated once in init and freed in deinit; every access after init goes through the
    // atomic C helpers. `templates` is immutable.
    static let trackedStatuses: [Int] = [
        100, 200, 201, 204, 304, 400, 401, 403, 404, 405, 408, 409, 412, 413, 414, 415, 417,
        422, 429, 431, 500, 501, 503, 505,
    ]
    static let bucketBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    private let templates: [String]
    private let statusCount: Int
    private let counters: UnsafeMutablePointer<UInt64>
    private let counterCount: Int
    /// Buckets, then +Inf, then the sum of nanoseconds.
    private let histogram: UnsafeMutablePointer<UInt64>
    private let openConnections: UnsafeMutablePointer<Int>
    /// Requests answered 503 instead of being queued, by reason.
    private let shed: UnsafeMutablePointer<UInt64>
    /// When the last request was shed (monotonic nanoseconds; 0: never).
    private let lastShedAt = Atomic<UInt64>(0)

    /// Why a request was answered 503 before any handler ran.
    public enum ShedReason: Int, CaseIterable, Sendable {
        /// Every slot of a worker pool's queue was taken.
        case queueFull
        /// The tenant's share of a pool's queue was taken (its flood sheds its own requests).
        case tenantShare
        /// `--max-connections` connections were open.
        case connectionLimit

        var label: String {
            switch self {
            case .queueFull: return "queue_full"
            case .tenantShare: return "tenant_share"
            case .connectionLimit: return "connection_limit"
            }
        }
    }

    /// - Parameter templates: route templates by route index; one more slot is added for
    ///   requests that matched no route.
    public init(templates: [String]) {
        self.templates = templates + ["unmatched"]
        statusCount = Self.trackedStatuses.count + 1
        counterCount = self.templates.count * statusCount
        counters = .allocate(capacity: counterCount)
        counters.initialize(repeating: 0, count: counterCount)
        histogram = .allocate(capacity: Self.bucketBounds.count + 2)
        histogram.initialize(repeating: 0, count: Self.bucketBounds.count + 2)
        openConnections = .allocate(capacity: 1)
        openConnections.initialize(to: 0)
        shed = .allocate(capacity: ShedReason.allCases.count)
        shed.initialize(repeating: 0, count: ShedReason.allCases.count)
    }

    deinit {
        counters.deallocate()
        histogram.deallocate()
        openConnections.deallocate()
        shed.deallocate()
    }

    /// The route index used for requests that matched nothing.
    public var unmatchedIndex: Int { templates.count - 1 }

    func record(routeIndex: Int, status: Int, nanoseconds: UInt64) {
        let route = routeIndex >= 0 && routeIndex < templates.count ? routeIndex : templates.count - 1
        let slot = Self.trackedStatuses.firstIndex(of: status) ?? Self.trackedStatuses.count
        atrium_counter_add(counters, route * statusCount + slot, 1)
        let seconds = Double(nanoseconds) / 1e9
        var bucket = Self.bucketBounds.count
        for (index, bound) in Self.bucketBounds.enumerated() where seconds <= bound {
            bucket = index
            break
        }
        atrium_counter_add(histogram, bucket, 1)
        atrium_counter_add(histogram, Self.bucketBounds.count + 1, nanoseconds)
    }

    func recordShed(_ reason: ShedReason) {
        atrium_counter_add(shed, reason.rawValue, 1)
        lastShedAt.store(atrium_monotonic_ns(), ordering: .relaxed)
    }

    /// Requests shed for `reason` so far.
    public func shedCount(_ reason: ShedReason) -> UInt64 { atrium_counter_load(shed, reason.rawValue) }

    /// True when a request was shed in the last five seconds (about one probe interval of a
    /// load balancer's health check): the server is overloaded right now.
    public var isShedding: Bool {
        let last = lastShedAt.load(ordering: .relaxed)
        return last != 0 && atrium_monotonic_ns() &- last < 5_000_000_000
    }

    func connectionOpened() { _ = atrium_gauge_add(openConnections, 1) }
    func connectionClosed() { _ = atrium_gauge_add(openConnections, -1) }

    /// Connections open right now.
    public var openConnectionCount: Int { atrium_gauge_load(openConnections) }

    /// The Prometheus exposition of everything above.
    public func render() -> String {
        var out = "# HELP atrium_http_requests_total HTTP requests by route template and status.\n"
        out += "# TYPE atrium_http_requests_total counter\n"
        for (routeIndex, template) in templates.enumerated() {
            for slot in 0..<statusCount {
                let value = atrium_counter_load(counters, routeIndex * statusCount + slot)
                if value == 0 { continue }
                let status = slot < Self.trackedStatuses.count ? String(Self.trackedStatuses[slot]) : "other"
                out += "atrium_http_requests_total{route=\"\(template)\",status=\"\(status)\"} \(value)\n"
            }
        }
        out += "# HELP atrium_http_request_duration_seconds Time from a complete request to its response.\n"
        out += "# TYPE atrium_http_request_duration_seconds histogram\n"
        var cumulative: UInt64 = 0
        for (index, bound) in Self.bucketBounds.enumerated() {
            cumulative &+= atrium_counter_load(histogram, index)
            out += "atrium_http_request_duration_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        cumulative &+= atrium_counter_load(histogram, Self.bucketBounds.count)
        out += "atrium_http_request_duration_seconds_bucket{le=\"+Inf\"} \(cumulative)\n"
        let sumNanos = atrium_counter_load(histogram, Self.bucketBounds.count + 1)
        out += "atrium_http_request_duration_seconds_sum \(Double(sumNanos) / 1e9)\n"
        out += "atrium_http_request_duration_seconds_count \(cumulative)\n"
        out += "# HELP atrium_http_open_connections Open client connections.\n"
        out += "# TYPE atrium_http_open_connections gauge\n"
        out += "atrium_http_open_connections \(openConnectionCount)\n"
        out += "# HELP atrium_http_shed_requests_total Requests answered 503 instead of being queued, by reason.\n"
        out += "# TYPE atrium_http_shed_requests_total counter\n"
        for reason in ShedReason.allCases {
            out += "atrium_http_shed_requests_total{reason=\"\(reason.label)\"} \(shedCount(reason))\n"
        }
        return out
    }
}
