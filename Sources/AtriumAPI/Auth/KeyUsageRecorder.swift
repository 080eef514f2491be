import AtriumStore
import Synchronization

/// Collects "key K was used at T" in memory and writes it in batches, so authenticating with
/// a key never writes to the database on the request path. `last_used_at` may lag by up to
/// one flush interval; nothing depends on it for correctness.
public final class KeyUsageRecorder: Sendable {
    private let pending = Mutex<[Int64: Int64]>([:])

    public init() {}

    func record(keyID: Int64, at milliseconds: Int64) {
        pending.withLock { uses in
            if let existing = uses[keyID], existing >= milliseconds { return }
            uses[keyID] = milliseconds
        }
    }

    /// Writes what has been collected (called by a timer thread and at shutdown).
    public func flush(to store: Store) {
        let uses = pending.withLock { uses -> [Int64: Int64] in
            let taken = uses
            uses = [:]
            return taken
        }
        guard !uses.isEmpty else { return }
        let list = uses.map { (keyID: $0.key, at: $0.value) }
        _ = try? store.write { writer in try writer.touchAPIKeys(list) }
    }
}
