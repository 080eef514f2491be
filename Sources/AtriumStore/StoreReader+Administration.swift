
extension StoreReader {
    static let invitationColumns =
        "id, workspace_id, email, role, status, invited_by, expires_at, created_at"

    static func invitation(_ s: SQLStatement) throws(StoreError) -> InvitationRow {
        InvitationRow(id: s.int64(0), workspaceID: s.int64(1), email: s.string(2) ?? "",
                      role: try decode(s.string(3), "invitations.role"),
                      status: try decode(s.string(4), "invitations.status"), invitedBy: s.int64(5),
                      expiresAt: s.int64(6), createdAt: s.int64(7))
    }

    private func invitations(_ sql: String, _ arguments: [SQLValue]) throws -> [InvitationRow] {
        let statement = try connection.prepare(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        var rows: [InvitationRow] = []
        while try statement.step() { rows.append(try Self.invitation(statement)) }
        return rows
    }

    public func invitation(id: Int64) throws -> InvitationRow? {
        try invitations("SELECT \(Self.invitationColumns) FROM invitations WHERE id = ?", [.integer(id)]).first
    }

    /// The invitation whose token hashes to `tokenHash` (`InvitationToken.hash`).
    public func invitation(tokenHash: [UInt8]) throws -> InvitationRow? {
        try invitations("SELECT \(Self.invitationColumns) FROM invitations WHERE token_hash = ?", [.blob(tokenHash)])
            .first
    }

    /// Pending, unexpired invitations addressed to `email`, newest first.
    public func pendingInvitations(email: String, now: Int64) throws -> [InvitationRow] {
        try invitations("""
            SELECT \(Self.invitationColumns) FROM invitations
            WHERE email = ? AND status = 'pending' AND expires_at > ? ORDER BY id DESC
            """, [.text(email), .integer(now)])
    }

    /// A pending, unexpired invitation of `email` into `workspaceID`, if any.
    public func pendingInvitation(workspaceID: Int64, email: String, now: Int64) throws -> InvitationRow? {
        try invitations("""
            SELECT \(Self.invitationColumns) FROM invitations
            WHERE workspace_id = ? AND status = 'pending' AND email = ? AND expires_at > ?
            """, [.integer(workspaceID), .text(email), .integer(now)]).first
    }

    public func pendingInvitationCount(workspaceID: Int64, now: Int64) throws(SQLError) -> Int {
        let rows = try connection.query(
            "SELECT COUNT(*) FROM invitations WHERE workspace_id = ? AND status = 'pending' AND expires_at > ?",
            [.integer(workspaceID), .integer(now)])
        if case .integer(let count) = rows.first?.first ?? .null { return Int(count) }
        return 0
    }

    static let memberColumns = "m.id, m.workspace_id, m.user_id, u.email, u.name, m.role, m.joined_at"

    static func member(_ s: SQLStatement) throws(StoreError) -> MemberRow {
        MemberRow(id: s.int64(0), workspaceID: s.int64(1), userID: s.int64(2), email: s.string(3) ?? "",
                  name: s.string(4) ?? "", role: try decode(s.string(5), "members.role"), joinedAt: s.int64(6))
    }

    public func members(workspaceID: Int64) throws -> [MemberRow] {
        let statement = try connection.prepare(
            "SELECT \(Self.memberColumns) FROM members m JOIN users u ON u.id = m.user_id"
                + " WHERE m.workspace_id = ? ORDER BY m.id")
        defer { statement.reset() }
        try statement.bind(workspaceID, at: 1)
        var rows: [MemberRow] = []
        while try statement.step() { rows.append(try Self.member(statement)) }
        return rows
    }

    public func member(id: Int64, workspaceID: Int64) throws -> MemberRow? {
        let statement = try connection.prepare(
            "SELECT \(Self.memberColumns) FROM members m JOIN users u ON u.id = m.user_id"
                + " WHERE m.id = ? AND m.workspace_id = ?")
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        try statement.bind(workspaceID, at: 2)
        return try statement.step() ? try Self.member(statement) : nil
    }

    public func member(userID: Int64, workspaceID: Int64) throws -> MemberRow? {
        let statement = try connection.prepare(
            "SELECT \(Self.memberColumns) FROM members m JOIN users u ON u.id = m.user_id"
                + " WHERE m.user_id = ? AND m.workspace_id = ?")
        defer { statement.reset() }
        try statement.bind(userID, at: 1)
        try statement.bind(workspaceID, at: 2)
        return try statement.step() ? try Self.member(statement) : nil
    }

    /// Whether any account has `workspaceID` as its main workspace.
    public func isSomeonesMain(workspaceID: Int64) throws(SQLError) -> Bool {
        !(try connection.query("SELECT 1 FROM users WHERE main_workspace_id = ? LIMIT 1",
                               [.integer(workspaceID)])).isEmpty
    }

    /// The plan name of a workspace's owner (nil = the default plan).
    public func ownerPlan(workspaceID: Int64) throws(SQLError) -> (ownerID: Int64, plan: String?)? {
        let rows = try connection.query(
            "SELECT u.id, u.plan FROM workspaces w JOIN users u ON u.id = w.owner_id WHERE w.id = ?",
            [.integer(workspaceID)])
        guard let row = rows.first, case .integer(let owner) = row[0] else { return nil }
        if case .text(let plan) = row[1] { return (owner, plan) }
        return (owner, nil)
    }

    /// Audit entries of a workspace, newest first, ids below `cursor`.
    public func auditLog(workspaceID: Int64, before cursor: Int64?, limit: Int) throws(SQLError) -> [AuditRow] {
        let statement = try connection.prepare("""
            SELECT id, workspace_id, action, actor_user_id, credential, key_id, target, ip, created_at FROM audit_log
            WHERE workspace_id = ? AND id < ? ORDER BY id DESC LIMIT ?
            """)
        defer { statement.reset() }
        try statement.bind(workspaceID, at: 1)
        try statement.bind(cursor ?? Int64.max, at: 2)
        try statement.bind(Int64(limit), at: 3)
        var rows: [AuditRow] = []
        while try statement.step() {
            let s = statement
            rows.append(AuditRow(
                id: s.int64(0), workspaceID: s.int64(1), action: s.string(2) ?? "",
                actor: AuditActor(userID: s.isNull(3) ? nil : s.int64(3), credential: s.string(4),
                                  keyID: s.isNull(5) ? nil : s.int64(5), ip: s.string(7)),
                target: s.string(6) ?? "{}", createdAt: s.int64(8)))
        }
        return rows
    }

    /// Usage counts of the given workspaces, summed; `since` bounds the request count.
    public func usage(workspaceIDs: [Int64], sinceDay: Int64) throws(SQLError) -> UsageRow {
        var usage = UsageRow()
        let bytes = connection.dialect.byteLength("data")
        for id in workspaceIDs {
            let rows = try connection.query("""
                SELECT (SELECT COUNT(*) FROM records WHERE workspace_id = ?1),
                       (SELECT COALESCE(SUM(\(bytes)), 0) FROM records WHERE workspace_id = ?1),
                       (SELECT COUNT(*) FROM members WHERE workspace_id = ?1),
                       (SELECT COUNT(*) FROM api_keys WHERE workspace_id = ?1),
                       (SELECT COALESCE(SUM(count), 0) FROM workspace_requests WHERE workspace_id = ?1 AND day >= ?2),
                       (SELECT COUNT(*) FROM webhooks WHERE workspace_id = ?1)
                """, [.integer(id), .integer(sinceDay)])
            guard let row = rows.first else { continue }
            func value(_ index: Int) -> Int64 { if case .integer(let v) = row[index] { return v }; return 0 }
            usage.records += value(0)
            usage.storageBytes += value(1)
            usage.members += value(2)
            usage.apiKeys += value(3)
            usage.requests30d += value(4)
            usage.webhooks += value(5)
        }
        return usage
    }

    /// Ids of the live workspaces a user owns.
    public func ownedWorkspaces(userID: Int64) throws(SQLError) -> [Int64] {
        try connection.query(
            "SELECT id FROM workspaces WHERE owner_id = ? ORDER BY id", [.integer(userID)]
        ).compactMap {
            if case .integer(let id) = $0[0] { return id }
            return nil
        }
    }
}
