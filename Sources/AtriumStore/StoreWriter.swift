
/// Mutations, valid inside one `Store.write` scope (one savepoint of a group commit).
/// Everything a scope writes commits together or not at all.
public struct StoreWriter {
    let connection: SQLConnection
    /// Reads inside the same transaction.
    public let reader: StoreReader

    init(connection: SQLConnection) {
        self.connection = connection
        self.reader = StoreReader(connection: connection)
    }

    // MARK: Users and workspaces

    public func createUser(email: String, name: String, passwordHash: String, now: Int64) throws -> UserRow {
        let id: Int64
        do {
            id = try connection.insert(
                "INSERT INTO users (email, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                [.text(email), .text(name), .text(passwordHash), .integer(now), .integer(now)])
        } catch let error where error.isConstraintViolation {
            throw StoreError.conflict("email")
        }
        guard let user = try reader.user(id: id) else { throw StoreError.notFound }
        return user
    }

    /// Creates a workspace owned by `ownerID`, with the owner's membership.
    public func createWorkspace(ownerID: Int64, name: String, color: String?, metadata: String, now: Int64) throws
        -> WorkspaceRow
    {
        let id = try connection.insert(
            "INSERT INTO workspaces (name, color, metadata, owner_id, created_at, updated_at)"
                + " VALUES (?, ?, ?, ?, ?, ?)",
            [.text(name), color.map(SQLValue.text) ?? .null, .text(metadata), .integer(ownerID), .integer(now),
             .integer(now)])
        try connection.run(
            "INSERT INTO members (workspace_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)",
            [.integer(id), .integer(ownerID), .integer(now)])
        guard let row = try reader.workspace(id: id, userID: ownerID) else { throw StoreError.notFound }
        return row
    }

    public func setMainWorkspace(userID: Int64, workspaceID: Int64?, now: Int64) throws(SQLError) {
        try connection.run("UPDATE users SET main_workspace_id = ?, updated_at = ? WHERE id = ?",
                           [workspaceID.map(SQLValue.integer) ?? .null, .integer(now), .integer(userID)])
    }

    public func setUserName(userID: Int64, name: String, now: Int64) throws(SQLError) {
        try connection.run("UPDATE users SET name = ?, updated_at = ? WHERE id = ?",
                           [.text(name), .integer(now), .integer(userID)])
    }

    // MARK: Sessions

    public func createSession(userID: Int64, refreshHash: [UInt8], refreshExpiresAt: Int64, now: Int64)
        throws(SQLError) -> Int64
    {
        try connection.insert(
            "INSERT INTO sessions (user_id, refresh_hash, refresh_expires_at, created_at) VALUES (?, ?, ?, ?)",
            [.integer(userID), .blob(refreshHash), .integer(refreshExpiresAt), .integer(now)])
    }

    /// What presenting a refresh token did.
    public enum RefreshOutcome: Sendable, Equatable {
        /// Exchanged: the session continues with the new token.
        case rotated(sessionID: Int64, userID: Int64)
        /// Already spent: the whole session is now revoked.
        case reused
        /// Unknown, expired, or its session is revoked.
        case invalid
    }

    /// Spends `presentedHash` and installs `newHash` in its place (rotation), or revokes the
    /// session when a spent token comes back.
    public func exchangeRefreshToken(presentedHash: [UInt8], newHash: [UInt8], newExpiresAt: Int64, now: Int64)
        throws(SQLError) -> RefreshOutcome
    {
        let live = try connection.query(
            "SELECT id, user_id, refresh_expires_at, revoked_at FROM sessions WHERE refresh_hash = ?"
                + connection.dialect.forUpdate,
            [.blob(presentedHash)])
        if let row = live.first, case .integer(let sessionID) = row[0], case .integer(let userID) = row[1],
           case .integer(let expires) = row[2]
        {
            guard row[3] == .null, expires > now else { return .invalid }
            try connection.run("INSERT INTO spent_refresh_tokens (hash, session_id) VALUES (?, ?)",
                               [.blob(presentedHash), .integer(sessionID)])
            try connection.run("UPDATE sessions SET refresh_hash = ?, refresh_expires_at = ? WHERE id = ?",
                               [.blob(newHash), .integer(newExpiresAt), .integer(sessionID)])
            return .rotated(sessionID: sessionID, userID: userID)
        }
        let spent = try connection.query("SELECT session_id FROM spent_refresh_tokens WHERE hash = ?",
                                         [.blob(presentedHash)])
        if let row = spent.first, case .integer(let sessionID) = row[0] {
            try revokeSession(id: sessionID, now: now)
            return .reused
        }
        return .invalid
    }

    public func revokeSession(id: Int64, now: Int64) throws(SQLError) {
        try connection.run("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           [.integer(now), .integer(id)])
        try tenancyChanged()
    }

    // MARK: API keys

    public func createAPIKey(
        userID: Int64, mode: APIKeyMode, workspaceID: Int64?, name: String, prefix: String, secretHash: [UInt8],
        permissions: [String]?, expiresAt: Int64?, allowList: [Int64], now: Int64
    ) throws -> APIKeyRow {
        let id = try connection.insert("""
            INSERT INTO api_keys (user_id, mode, workspace_id, name, prefix, secret_hash, permissions, expires_at,
                                  created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.integer(userID), .text(mode.rawValue), workspaceID.map(SQLValue.integer) ?? .null, .text(name),
             .text(prefix),
             .blob(secretHash), permissions.map { .text($0.joined(separator: " ")) } ?? .null,
             expiresAt.map(SQLValue.integer) ?? .null, .integer(now)])
        for workspace in Set(allowList) {
            try connection.run("INSERT INTO api_key_workspaces (key_id, workspace_id) VALUES (?, ?)",
                               [.integer(id), .integer(workspace)])
        }
        guard let row = try reader.apiKey(id: id) else { throw StoreError.notFound }
        return row
    }

    /// Replaces a key's name, permissions, expiry and (for `scoped`) allow-list.
    public func updateAPIKey(id: Int64, name: String, permissions: [String]?, expiresAt: Int64?,
                             allowList: [Int64]?) throws -> APIKeyRow {
        try connection.run("UPDATE api_keys SET name = ?, permissions = ?, expires_at = ? WHERE id = ?",
                           [.text(name), permissions.map { .text($0.joined(separator: " ")) } ?? .null,
                            expiresAt.map(SQLValue.integer) ?? .null, .integer(id)])
        guard connection.changes == 1 else { throw StoreError.notFound }
        try tenancyChanged()
        if let allowList {
            try connection.run("DELETE FROM api_key_workspaces WHERE key_id = ?", [.integer(id)])
            for workspace in Set(allowList) {
                try connection.run("INSERT INTO api_key_workspaces (key_id, workspace_id) VALUES (?, ?)",
                                   [.integer(id), .integer(workspace)])
            }
        }
        guard let row = try reader.apiKey(id: id) else { throw StoreError.notFound }
        return row
    }

    /// Deletes (revokes) a key; false when it did not exist.
    public func deleteAPIKey(id: Int64) throws(SQLError) -> Bool {
        try connection.run("DELETE FROM api_keys WHERE id = ?", [.integer(id)])
        let deleted = connection.changes == 1
        if deleted { try tenancyChanged() }
        return deleted
    }

    /// Records when keys were last used (coalesced by the caller; never on the request path).
    /// In key order: two instances flushing at once lock the rows in the same order, so they
    /// cannot deadlock.
    public func touchAPIKeys(_ uses: [(keyID: Int64, at: Int64)]) throws(SQLError) {
        for use in uses.sorted(by: { $0.keyID < $1.keyID }) {
            try connection.run(
                "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                [.integer(use.at), .integer(use.keyID), .integer(use.at)])
        }
    }

    // MARK: Throttles

    /// Counts one hit in a fixed window; returns the count including this hit.
    @discardableResult
    public func hitRateLimit(bucket: String, windowMilliseconds: Int64, now: Int64) throws(SQLError) -> Int {
        let windowStart = now - now % windowMilliseconds
        try connection.run("""
            INSERT INTO rate_limits (bucket, window_start, count) VALUES (?, ?, 1)
            ON CONFLICT (bucket) DO UPDATE SET
              count = CASE WHEN rate_limits.window_start = excluded.window_start
                           THEN rate_limits.count + 1 ELSE 1 END,
              window_start = excluded.window_start
            """, [.text(bucket), .integer(windowStart)])
        return try reader.rateLimitCount(bucket: bucket, windowMilliseconds: windowMilliseconds, now: now)
    }
}

extension StoreReader {
    /// Hits counted in the current window of a throttle.
    public func rateLimitCount(bucket: String, windowMilliseconds: Int64, now: Int64) throws(SQLError) -> Int {
        let windowStart = now - now % windowMilliseconds
        let rows = try connection.query("SELECT count FROM rate_limits WHERE bucket = ? AND window_start = ?",
                                        [.text(bucket), .integer(windowStart)])
        if let first = rows.first, case .integer(let count) = first[0] { return Int(count) }
        return 0
    }
}

extension StoreWriter {
    /// Assigns a plan to a user; false when no user has that email.
    public func setPlan(email: String, plan: String) throws(SQLError) -> Bool {
        try connection.run("UPDATE users SET plan = ? WHERE email = ?", [.text(plan), .text(email)])
        let changed = connection.changes == 1
        if changed { try tenancyChanged() }
        return changed
    }
}

extension StoreWriter {
    /// Bumps the store-wide tenancy counter (`StoreReader.tenancyEpoch`) in this transaction
    /// and asks for a commit notification: a write that revokes or changes someone's rights
    /// calls it, so open event streams re-validate their callers before sending anything the
    /// write committed (docs/events.md).
    public func tenancyChanged() throws(SQLError) {
        try connection.run("UPDATE tenancy_epoch SET value = value + 1 WHERE id = 1")
        connection.requestCommitNotification()
    }

    /// Asks for the store's commit observer (`Store.onCommit`) to run once this write's
    /// transaction is durable; writing an outbox event does it already.
    public func requestCommitNotification() {
        connection.requestCommitNotification()
    }
}
