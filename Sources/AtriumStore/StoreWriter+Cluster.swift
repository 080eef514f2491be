/// Thrown by a write of a cluster role's holder that is no longer the holder: another
/// instance took the role over (`ClusterRole`), so this write must not happen.
public struct ClusterRoleLost: Error, Sendable, Equatable, CustomStringConvertible {
    public let role: String
    /// The epoch the writer held, and the one the database has.
    public let held: Int64
    public let current: Int64?

    public var description: String {
        "the cluster role \(role) moved on: this instance held epoch \(held), the database has "
            + (current.map(String.init) ?? "none")
    }
}

extension StoreWriter {
    /// Makes the caller the holder of `role`: a new epoch, one past the last (1 for the first).
    /// Called only while holding the role's lock, so epochs never repeat.
    public func takeClusterRole(_ role: String, holder: String, now: Int64) throws(SQLError) -> Int64 {
        let rows = try connection.query("""
            INSERT INTO cluster_leaders (role, epoch, holder, acquired_at) VALUES (?, 1, ?, ?)
            ON CONFLICT (role) DO UPDATE SET epoch = cluster_leaders.epoch + 1, holder = excluded.holder,
                                             acquired_at = excluded.acquired_at
            RETURNING epoch
            """, [.text(role), .text(holder), .integer(now)])
        guard case .integer(let epoch)? = rows.first?.first else {
            throw SQLError(.other, message: "taking the cluster role \(role) returned no epoch", sql: nil)
        }
        return epoch
    }

    /// The fence of a role holder's writes: throws `ClusterRoleLost` unless `epoch` is still
    /// the role's. On PostgreSQL the row is locked, so a takeover waits for this transaction,
    /// or this one (under SERIALIZABLE) fails and runs again seeing the new epoch.
    public func requireClusterRole(_ role: String, epoch: Int64) throws {
        let rows = try connection.query(
            "SELECT epoch FROM cluster_leaders WHERE role = ?\(connection.dialect.forUpdate)", [.text(role)])
        var current: Int64?
        if case .integer(let value)? = rows.first?.first { current = value }
        guard current == epoch else { throw ClusterRoleLost(role: role, held: epoch, current: current) }
    }
}
