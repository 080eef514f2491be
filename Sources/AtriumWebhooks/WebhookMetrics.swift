import Synchronization

/// Delivery counters for `/metrics`: attempts by outcome, the queue depth, attempts in flight
/// and a latency histogram. Lock-free; written by delivery workers, read by the scrape.
public final class WebhookMetrics: Sendable {
    public static let outcomes = ["succeeded", "http_error", "gone", "timeout", "connection_error", "tls_error",
                                  "forbidden_address", "dns_error"]
    /// Histogram upper bounds, in seconds.
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    private let byOutcome: [Counter]
    private let bucketCounts: [Counter]
    private let latencySumMicroseconds = Atomic<Int>(0)
    private let attempts = Atomic<Int>(0)
    /// Pending attempts (due or scheduled), as the dispatcher counts them.
    let queueDepth = Atomic<Int>(0)
    let inFlight = Atomic<Int>(0)

    public init() {
        byOutcome = Self.outcomes.map { _ in Counter() }
        bucketCounts = Self.buckets.map { _ in Counter() }
    }

    func record(outcome: String, seconds: Double) {
        if let index = Self.outcomes.firstIndex(of: outcome) {
            byOutcome[index].value.add(1, ordering: .relaxed)
        }
        if let bucket = Self.buckets.firstIndex(where: { seconds <= $0 }) {
            bucketCounts[bucket].value.add(1, ordering: .relaxed)
        }
        attempts.add(1, ordering: .relaxed)
        latencySumMicroseconds.add(Int(seconds * 1_000_000), ordering: .relaxed)
    }

    public var pendingCount: Int { queueDepth.load(ordering: .relaxed) }

    /// Prometheus text exposition of these metrics.
    public func render() -> String {
        var text = "# HELP atrium_webhook_deliveries_total Webhook delivery attempts by outcome.\n"
        text += "# TYPE atrium_webhook_deliveries_total counter\n"
        for (index, outcome) in Self.outcomes.enumerated() {
            let count = byOutcome[index].value.load(ordering: .relaxed)
            text += "atrium_webhook_deliveries_total{outcome=\"\(outcome)\"} \(count)\n"
        }
        text += "# HELP atrium_webhook_queue_depth Pending webhook delivery attempts, due or scheduled.\n"
        text += "# TYPE atrium_webhook_queue_depth gauge\n"
        text += "atrium_webhook_queue_depth \(max(0, queueDepth.load(ordering: .relaxed)))\n"
        text += "# HELP atrium_webhook_in_flight Webhook delivery attempts running now.\n"
        text += "# TYPE atrium_webhook_in_flight gauge\n"
        text += "atrium_webhook_in_flight \(inFlight.load(ordering: .relaxed))\n"
        text += "# HELP atrium_webhook_attempt_duration_seconds Webhook delivery attempt latency.\n"
        text += "# TYPE atrium_webhook_attempt_duration_seconds histogram\n"
        var cumulative = 0
        for (index, bound) in Self.buckets.enumerated() {
            cumulative += bucketCounts[index].value.load(ordering: .relaxed)
            text += "atrium_webhook_attempt_duration_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        let total = attempts.load(ordering: .relaxed)
        text += "atrium_webhook_attempt_duration_seconds_bucket{le=\"+Inf\"} \(total)\n"
        let latencySum = Double(latencySumMicroseconds.load(ordering: .relaxed)) / 1_000_000
        text += "atrium_webhook_attempt_duration_seconds_sum \(latencySum)\n"
        text += "atrium_webhook_attempt_duration_seconds_count \(total)\n"
        return text
    }
}

/// One atomic count, boxed so several can live in an array.
final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
