import Synchronization

/// Counts writes refused for a full disk and says so at most once per interval, with the
/// number of refusals since the last message, so a full disk under load cannot flood the log.
final class StorageFullLog: Sendable {
    static let interval: Int64 = 10
    private let state = Mutex<(count: Int, lastLogged: Int64?, unlogged: Int)>((0, nil, 0))

    var count: Int { state.withLock { $0.count } }

    /// The message to log for one more refusal at `now` (seconds), or nil while quiet.
    func record(now: Int64) -> String? {
        state.withLock { state in
            state.count += 1
            state.unlogged += 1
            if let last = state.lastLogged, now - last < Self.interval { return nil }
            state.lastLogged = now
            let refused = state.unlogged
            state.unlogged = 0
            return "storage full: the disk holding the data directory has no room left; "
                + "\(refused) write(s) refused with 503 since the last message; reads still work, "
                + "writes resume once space is freed"
        }
    }
}
