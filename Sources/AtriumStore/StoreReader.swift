
/// Read queries, valid for the duration of one `Store.read` or `Store.write` scope.
/// Not Sendable: it wraps a connection confined to the current thread.
public struct StoreReader {
    let connection: SQLConnection

    init(connection: SQLConnection) { self.connection = connection }

    // MARK: Users

    static let userColumns = "id, email, name, password_hash, main_workspace_id, plan, created_at, updated_at"

    public func user(id: Int64) throws(SQLError) -> UserRow? {
        let statement = try connection.prepare("SELECT \(Self.userColumns) FROM users WHERE id = ?")
        try statement.bind(id, at: 1)
        defer { statement.reset() }
        return try statement.step() ? Self.user(statement) : nil
    }

    public func user(email: String) throws(SQLError) -> UserRow? {
        let statement = try connection.prepare("SELECT \(Self.userColumns) FROM users WHERE email = ?")
        try statement.bind(email, at: 1)
        defer { statement.reset() }
        return try statement.step() ? Self.user(statement) : nil
    }

    static func user(_ s: SQLStatement) -> UserRow {
        UserRow(id: s.int64(0), email: s.string(1) ?? "", name: s.string(2) ?? "", passwordHash: s.string(3) ?? "",
                mainWorkspaceID: s.isNull(4) ? nil : s.int64(4), plan: s.string(5),
                createdAt: s.int64(6), updatedAt: s.int64(7))
    }

    // MARK: Tenancy

    /// The user's role in a live workspace, or nil.
    public func role(userID: Int64, workspaceID: Int64) throws -> Role? {
        let statement = try connection.prepare("SELECT role FROM members WHERE user_id = ? AND workspace_id = ?")
        try statement.bind(userID, at: 1)
        try statement.bind(workspaceID, at: 2)
        defer { statement.reset() }
        return try statement.step() ? try Self.decode(statement.string(0), "members.role") : nil
    }

    /// The user's main workspace if it exists and they are still a member of it.
    public func mainWorkspace(userID: Int64) throws(SQLError) -> Int64? {
        let statement = try connection.prepare("""
            SELECT u.main_workspace_id FROM users u
            JOIN members m ON m.workspace_id = u.main_workspace_id AND m.user_id = u.id
            WHERE u.id = ?
            """)
        try statement.bind(userID, at: 1)
        defer { statement.reset() }
        return try statement.step() ? statement.int64(0) : nil
    }

    /// Every workspace the user belongs to, ascending by id, with their role.
    public func memberships(userID: Int64) throws -> [(workspaceID: Int64, role: Role)] {
        let statement = try connection.prepare(
            "SELECT workspace_id, role FROM members WHERE user_id = ? ORDER BY workspace_id")
        try statement.bind(userID, at: 1)
        defer { statement.reset() }
        var result: [(workspaceID: Int64, role: Role)] = []
        while try statement.step() {
            result.append((statement.int64(0), try Self.decode(statement.string(1), "members.role")))
        }
        return result
    }

    static let workspaceColumns = "w.id, w.name, w.color, w.metadata, w.owner_id, w.created_at, w.updated_at, m.role"

    /// The user's workspaces with their role, ascending by id; `only` narrows to those ids.
    public func workspaces(userID: Int64, only: [Int64]? = nil) throws -> [WorkspaceRow] {
        let statement = try connection.prepare("""
            SELECT \(Self.workspaceColumns) FROM members m JOIN workspaces w ON w.id = m.workspace_id
            WHERE m.user_id = ? ORDER BY w.id
            """)
        try statement.bind(userID, at: 1)
        defer { statement.reset() }
        var result: [WorkspaceRow] = []
        while try statement.step() {
            let row = try Self.workspace(statement)
            if let only, !only.contains(row.id) { continue }
            result.append(row)
        }
        return result
    }

    /// One workspace as seen by a member, or nil when they are not one.
    public func workspace(id: Int64, userID: Int64) throws -> WorkspaceRow? {
        let statement = try connection.prepare("""
            SELECT \(Self.workspaceColumns) FROM members m JOIN workspaces w ON w.id = m.workspace_id
            WHERE m.user_id = ? AND w.id = ?
            """)
        try statement.bind(userID, at: 1)
        try statement.bind(id, at: 2)
        defer { statement.reset() }
        return try statement.step() ? try Self.workspace(statement) : nil
    }

    static func workspace(_ s: SQLStatement) throws(StoreError) -> WorkspaceRow {
        WorkspaceRow(id: s.int64(0), name: s.string(1) ?? "", color: s.string(2), metadata: s.string(3) ?? "{}",
                     ownerID: s.int64(4), createdAt: s.int64(5), updatedAt: s.int64(6),
                     role: s.isNull(7) ? nil : try decode(s.string(7), "members.role"))
    }

    // MARK: Sessions

    public func session(id: Int64) throws(SQLError) -> SessionRow? {
        let statement = try connection.prepare(
            "SELECT id, user_id, refresh_expires_at, revoked_at FROM sessions WHERE id = ?")
        try statement.bind(id, at: 1)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return SessionRow(id: statement.int64(0), userID: statement.int64(1), refreshExpiresAt: statement.int64(2),
                          revokedAt: statement.isNull(3) ? nil : statement.int64(3))
    }

    // MARK: API keys

    static let keyColumns =
        "id, user_id, mode, workspace_id, name, prefix, permissions, expires_at, last_used_at, created_at"

    /// The key whose secret hashes to `secretHash`, with its allow-list.
    public func apiKey(secretHash: [UInt8]) throws -> APIKeyRow? {
        let statement = try connection.prepare("SELECT \(Self.keyColumns) FROM api_keys WHERE secret_hash = ?")
        try statement.bind(secretHash, at: 1)
        let row: APIKeyRow?
        do {
            defer { statement.reset() }
            row = try statement.step() ? try Self.key(statement, workspaceIDs: []) : nil
        }
        guard let row else { return nil }
        return row.mode == .scoped ? try withAllowList(row) : row
    }

    public func apiKey(id: Int64) throws -> APIKeyRow? {
        let statement = try connection.prepare("SELECT \(Self.keyColumns) FROM api_keys WHERE id = ?")
        try statement.bind(id, at: 1)
        let row: APIKeyRow?
        do {
            defer { statement.reset() }
            row = try statement.step() ? try Self.key(statement, workspaceIDs: []) : nil
        }
        guard let row else { return nil }
        return row.mode == .scoped ? try withAllowList(row) : row
    }

    /// A user's account-level (`full` and `scoped`) keys, newest first.
    public func accountKeys(userID: Int64) throws -> [APIKeyRow] {
        let statement = try connection.prepare(
            "SELECT \(Self.keyColumns) FROM api_keys WHERE user_id = ? AND mode != 'workspace' ORDER BY id DESC")
        try statement.bind(userID, at: 1)
        var rows: [APIKeyRow] = []
        do {
            defer { statement.reset() }
            while try statement.step() { rows.append(try Self.key(statement, workspaceIDs: [])) }
        }
        var result: [APIKeyRow] = []
        for row in rows { result.append(row.mode == .scoped ? try withAllowList(row) : row) }
        return result
    }

    /// A workspace's `workspace`-mode keys, newest first.
    public func workspaceKeys(workspaceID: Int64) throws -> [APIKeyRow] {
        let statement = try connection.prepare(
            "SELECT \(Self.keyColumns) FROM api_keys WHERE workspace_id = ? AND mode = 'workspace' ORDER BY id DESC")
        try statement.bind(workspaceID, at: 1)
        defer { statement.reset() }
        var rows: [APIKeyRow] = []
        while try statement.step() { rows.append(try Self.key(statement, workspaceIDs: [])) }
        return rows
    }

    private func withAllowList(_ row: APIKeyRow) throws(SQLError) -> APIKeyRow {
        let statement = try connection.prepare(
            "SELECT workspace_id FROM api_key_workspaces WHERE key_id = ? ORDER BY workspace_id")
        try statement.bind(row.id, at: 1)
        defer { statement.reset() }
        var ids: [Int64] = []
        while try statement.step() { ids.append(statement.int64(0)) }
        return APIKeyRow(id: row.id, userID: row.userID, mode: row.mode, workspaceID: row.workspaceID, name: row.name,
                         prefix: row.prefix, permissions: row.permissions, expiresAt: row.expiresAt,
                         lastUsedAt: row.lastUsedAt, createdAt: row.createdAt, workspaceIDs: ids)
    }

    static func key(_ s: SQLStatement, workspaceIDs: [Int64]) throws(StoreError) -> APIKeyRow {
        APIKeyRow(id: s.int64(0), userID: s.int64(1), mode: try decode(s.string(2), "api_keys.mode"),
                  workspaceID: s.isNull(3) ? nil : s.int64(3), name: s.string(4) ?? "", prefix: s.string(5) ?? "",
                  permissions: s.string(6).map { $0.split(separator: " ").map(String.init) },
                  expiresAt: s.isNull(7) ? nil : s.int64(7), lastUsedAt: s.isNull(8) ? nil : s.int64(8),
                  createdAt: s.int64(9), workspaceIDs: workspaceIDs)
    }

    /// A stored enum value decoded once, here: an unknown one is `StoreError.corrupt`
    /// naming the column and the value (never a silent default).
    static func decode<T: RawRepresentable>(_ text: String?, _ column: String) throws(StoreError) -> T
        where T.RawValue == String
    {
        guard let text, let value = T(rawValue: text) else {
            let shown = text.map { "'\($0)'" } ?? "NULL"
            throw StoreError.corrupt("\(column) holds \(shown), which this release does not know")
        }
        return value
    }
}
