
extension StoreWriter {
    /// Changes the given fields of a workspace; `color` `.some(nil)` clears it.
    public func updateWorkspace(id: Int64, name: String?, color: String??, metadata: String?, now: Int64)
        throws(SQLError)
    {
        if let name { try connection.run("UPDATE workspaces SET name = ? WHERE id = ?", [.text(name), .integer(id)]) }
        if let color {
            try connection.run("UPDATE workspaces SET color = ? WHERE id = ?",
                               [color.map(SQLValue.text) ?? .null, .integer(id)])
        }
        if let metadata {
            try connection.run("UPDATE workspaces SET metadata = ? WHERE id = ?", [.text(metadata), .integer(id)])
        }
        try connection.run("UPDATE workspaces SET updated_at = ? WHERE id = ?", [.integer(now), .integer(id)])
    }

    /// Deletes a workspace with everything in it (records, members, keys bound to it,
    /// allow-list entries, invitations, idempotency keys, undelivered events) in the
    /// caller's transaction.
    public func deleteWorkspace(id: Int64) throws(SQLError) {
        try connection.run("DELETE FROM outbox WHERE workspace_id = ?", [.integer(id)])
        try connection.run("DELETE FROM workspace_requests WHERE workspace_id = ?", [.integer(id)])
        try connection.run("UPDATE users SET main_workspace_id = NULL WHERE main_workspace_id = ?", [.integer(id)])
        try connection.run("DELETE FROM workspaces WHERE id = ?", [.integer(id)])
        try tenancyChanged()
    }

    public func createInvitation(workspaceID: Int64, email: String, role: Role, tokenHash: [UInt8], invitedBy: Int64,
                                 expiresAt: Int64, now: Int64) throws(SQLError) -> InvitationRow {
        let id = try connection.insert("""
            INSERT INTO invitations
                (workspace_id, email, role, token_hash, status, invited_by, expires_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)
            """, [.integer(workspaceID), .text(email), .text(role.rawValue), .blob(tokenHash), .integer(invitedBy),
                  .integer(expiresAt), .integer(now), .integer(now)])
        return InvitationRow(id: id, workspaceID: workspaceID, email: email, role: role,
                             status: .pending, invitedBy: invitedBy, expiresAt: expiresAt, createdAt: now)
    }

    public func setInvitationStatus(id: Int64, status: InvitationStatus, now: Int64) throws(SQLError) {
        try connection.run("UPDATE invitations SET status = ?, updated_at = ? WHERE id = ?",
                           [.text(status.rawValue), .integer(now), .integer(id)])
    }

    /// A fresh token and expiry; the old token stops working.
    public func renewInvitation(id: Int64, tokenHash: [UInt8], expiresAt: Int64, now: Int64) throws(SQLError) {
        try connection.run(
            "UPDATE invitations SET token_hash = ?, expires_at = ?, status = 'pending', updated_at = ? WHERE id = ?",
            [.blob(tokenHash), .integer(expiresAt), .integer(now), .integer(id)])
    }

    public func addMember(workspaceID: Int64, userID: Int64, role: Role, now: Int64) throws -> MemberRow {
        let id: Int64
        do {
            id = try connection.insert(
                "INSERT INTO members (workspace_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
                [.integer(workspaceID), .integer(userID), .text(role.rawValue), .integer(now)])
        } catch let error where error.isConstraintViolation {
            throw StoreError.conflict("member")
        }
        guard let member = try reader.member(id: id, workspaceID: workspaceID) else {
            throw StoreError.notFound
        }
        return member
    }

    public func setMemberRole(memberID: Int64, role: Role) throws(SQLError) {
        try connection.run("UPDATE members SET role = ? WHERE id = ?", [.text(role.rawValue), .integer(memberID)])
        try tenancyChanged()
    }

    public func removeMember(memberID: Int64) throws(SQLError) {
        try connection.run("DELETE FROM members WHERE id = ?", [.integer(memberID)])
        try tenancyChanged()
    }

    /// Makes `newOwnerID` the owner and the previous owner an admin; the previous owner loses
    /// the workspace as their main one.
    public func transferOwnership(workspaceID: Int64, from oldOwnerID: Int64, to newOwnerID: Int64, now: Int64)
        throws(SQLError)
    {
        try connection.run("UPDATE members SET role = 'admin' WHERE workspace_id = ? AND user_id = ?",
                           [.integer(workspaceID), .integer(oldOwnerID)])
        try connection.run("UPDATE members SET role = 'owner' WHERE workspace_id = ? AND user_id = ?",
                           [.integer(workspaceID), .integer(newOwnerID)])
        try connection.run("UPDATE workspaces SET owner_id = ?, updated_at = ? WHERE id = ?",
                           [.integer(newOwnerID), .integer(now), .integer(workspaceID)])
        try connection.run("UPDATE users SET main_workspace_id = NULL, updated_at = ?"
                               + " WHERE id = ? AND main_workspace_id = ?",
                           [.integer(now), .integer(oldOwnerID), .integer(workspaceID)])
        try tenancyChanged()
    }

    /// One audit entry, in the same transaction as the change it records.
    public func audit(workspaceID: Int64, action: String, actor: AuditActor, target: String, now: Int64)
        throws(SQLError)
    {
        let statement = try connection.prepare("""
            INSERT INTO audit_log (workspace_id, action, actor_user_id, credential, key_id, target, ip, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        defer { statement.reset() }
        try statement.bind([.integer(workspaceID), .text(action), actor.userID.map(SQLValue.integer) ?? .null,
                            actor.credential.map(SQLValue.text) ?? .null,
                            actor.keyID.map(SQLValue.integer) ?? .null,
                            .text(target), actor.ip.map(SQLValue.text) ?? .null, .integer(now)])
        _ = try statement.step()
    }

    /// Adds collected request counts (workspace, UTC day, count).
    /// In (workspace, day) order: two instances flushing at once lock the rows in the same
    /// order, so they cannot deadlock.
    public func addRequestCounts(_ counts: [(workspaceID: Int64, day: Int64, count: Int64)]) throws(SQLError) {
        for entry in counts.sorted(by: { ($0.workspaceID, $0.day) < ($1.workspaceID, $1.day) }) {
            try connection.run("""
                INSERT INTO workspace_requests (workspace_id, day, count) VALUES (?, ?, ?)
                ON CONFLICT (workspace_id, day) DO UPDATE SET count = workspace_requests.count + excluded.count
                """, [.integer(entry.workspaceID), .integer(entry.day), .integer(entry.count)])
        }
    }
}
