/// One instance's takes from one rate-limit scope in one minute window, to add to the cluster's.
public struct RateCounterDelta: Sendable, Equatable {
    public let scope: String
    public let delta: Int64

    public init(scope: String, delta: Int64) {
        self.scope = scope
        self.delta = delta
    }
}

/// The cluster's total for one scope in the current window, and how many instances took from it.
public struct RateCounterTotal: Sendable, Equatable {
    public let total: Int64
    public let instances: Int
}

extension StoreWriter {
    /// Adds each delta to this instance's row of its scope in the window starting at
    /// `windowStart` (milliseconds), in scope order so that instances lock rows alike, and
    /// returns the cluster's totals in that window for `scopes` (missing: nothing taken yet).
    /// The scope `""` is the instance's heartbeat; its "total" counts the live instances:
    /// those that synced in this window or the one before.
    public func addRateCounters(_ deltas: [RateCounterDelta], scopes: [String], instance: String,
                                windowStart: Int64) throws(SQLError) -> [String: RateCounterTotal] {
        for item in deltas.sorted(by: { $0.scope < $1.scope }) where item.delta != 0 {
            _ = try connection.query("""
                INSERT INTO rate_counters (scope, window_start, instance, count) VALUES (?, ?, ?, ?)
                ON CONFLICT (scope, window_start, instance) DO UPDATE SET count = rate_counters.count + excluded.count
                """, [.text(item.scope), .integer(windowStart), .text(instance), .integer(item.delta)])
        }
        _ = try connection.query("""
            INSERT INTO rate_counters (scope, window_start, instance, count) VALUES ('', ?, ?, 0)
            ON CONFLICT (scope, window_start, instance) DO NOTHING
            """, [.integer(windowStart), .text(instance)])
        var totals: [String: RateCounterTotal] = [:]
        let live = try connection.query(
            "SELECT COUNT(DISTINCT instance) FROM rate_counters WHERE scope = '' AND window_start >= ?",
            [.integer(windowStart - 60_000)])
        if case .integer(let count)? = live.first?.first {
            totals[""] = RateCounterTotal(total: 0, instances: Int(count))
        }
        let wanted = scopes.filter { !$0.isEmpty }
        var start = 0
        while start < wanted.count {
            let chunk = wanted[start..<min(wanted.count, start + 500)]
            start += 500
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            let rows = try connection.query(
                "SELECT scope, CAST(SUM(count) AS BIGINT), COUNT(*) FROM rate_counters "
                    + "WHERE window_start = ? AND scope IN (\(marks)) GROUP BY scope",
                [.integer(windowStart)] + chunk.map { .text($0) })
            for row in rows where row.count == 3 {
                guard case .text(let scope) = row[0], case .integer(let instances) = row[2] else { continue }
                guard case .integer(let total) = row[1] else { continue }
                totals[scope] = RateCounterTotal(total: total, instances: Int(instances))
            }
        }
        return totals
    }

    /// Deletes the windows that started before `windowStart`: they no longer limit anything.
    public func purgeRateCounters(before windowStart: Int64) throws(SQLError) {
        _ = try connection.query("DELETE FROM rate_counters WHERE window_start < ?", [.integer(windowStart)])
    }
}
