import AtriumStore
import Synchronization

/// Counts requests per workspace per UTC day in memory and adds them to the store in
/// batches (with the key last-use times), for `requests_30d`. Counts can lag by one flush.
public final class UsageCounter: Sendable {
    private let pending = Mutex<[Int64: Int64]>([:])

    public init() {}

    func record(workspaceID: Int64) {
        pending.withLock { $0[workspaceID, default: 0] += 1 }
    }

    public func flush(to store: Store, now: Int64) {
        let counts = pending.withLock { counts -> [Int64: Int64] in
            let taken = counts
            counts = [:]
            return taken
        }
        guard !counts.isEmpty else { return }
        let day = now / 86_400_000
        let list = counts.map { (workspaceID: $0.key, day: day, count: $0.value) }
        _ = try? store.write { writer in try writer.addRequestCounts(list) }
    }
}
