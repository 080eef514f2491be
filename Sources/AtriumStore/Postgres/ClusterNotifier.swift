import AtriumPostgres
import Glibc

/// The debounce of the sequencer's `NOTIFY atrium_outbox`: one notification however many
/// numbering runs finish within `OutboxSequencer.notifyIntervalMilliseconds`, so a busy
/// instance sends at most a couple of hundred a second (each costs every listener a read).
///
/// Why a notification at all: another instance's event streams and webhook dispatcher would
/// otherwise learn of this instance's events only from their polls.
struct ClusterNotifier {
    let instanceID: String
    private var owed = false
    private var lastSent: Int64 = -1_000_000

    init(instanceID: String) {
        self.instanceID = instanceID
    }

    /// A run numbered events or finished a commit that asked to be heard.
    mutating func owe() {
        owed = true
    }

    /// How long the sequencer may sleep: its poll, or less while a notification is owed.
    func waitMilliseconds(poll: Int64) -> Int64 {
        guard owed else { return poll }
        return max(1, min(poll, lastSent + OutboxSequencer.notifyIntervalMilliseconds - Self.now()))
    }

    /// Sends the owed notification when the interval allows, and `notices` (already carrying
    /// the instance id), each outside any transaction on `connection`.
    mutating func send(_ notices: [(channel: String, payload: String)],
                       on connection: PostgresConnection) throws(PostgresError) {
        for notice in notices {
            try connection.run("SELECT pg_notify(?, ?)", [.text(notice.channel), .text(notice.payload)])
        }
        let now = Self.now()
        guard owed, now - lastSent >= OutboxSequencer.notifyIntervalMilliseconds else { return }
        try connection.run("SELECT pg_notify(?, ?)", [.text(OutboxSequencer.outboxChannel), .text(instanceID)])
        owed = false
        lastSent = now
    }

    private static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec / 1_000_000)
    }
}
