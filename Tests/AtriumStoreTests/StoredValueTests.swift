@testable import AtriumStore
import AtriumSQLite
import Foundation
import Testing

/// Roles, key modes and invitation states decode once, in the store: a value this release
/// does not know is `StoreError.corrupt` naming the column, never a silent default (before:
/// an unknown role read as `viewer`, an unknown key mode as `full`, a status as `revoked`).
@Suite(.enabled(if: TestStores.isSQLite, "SQLite only: tampers with values through SQLite pragmas"))
struct StoredValueTests {
    private func seeded() throws -> (Store, userID: Int64, workspaceID: Int64) {
        let directory = NSTemporaryDirectory() + "atrium-values-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try Store(dataDirectory: directory, synchronous: .normal, readerCount: 1)
        let (user, workspace) = try store.write { writer in
            let user = try writer.createUser(email: "v@example.com", name: "V", passwordHash: "h", now: 1)
            let workspace = try writer.createWorkspace(ownerID: user.id, name: "W", color: nil, metadata: "{}", now: 1)
            return (user, workspace)
        }
        return (store, user.id, workspace.id)
    }

    /// Writes a value the schema's CHECK constraints would refuse, as a damaged file or a
    /// newer release could hold.
    private func tamper(_ store: Store, _ sql: String) throws {
        try store.sqliteDatabase!.write { connection in
            try connection.execute("PRAGMA ignore_check_constraints=ON")
            defer { try? connection.execute("PRAGMA ignore_check_constraints=OFF") }
            try connection.execute(sql)
        }
    }

    @Test("an unknown stored role is corrupt in every read that decodes it")
    func unknownRole() throws {
        let (store, userID, workspaceID) = try seeded()
        defer { store.close() }
        #expect(try store.read { try $0.role(userID: userID, workspaceID: workspaceID) } == .owner)
        try tamper(store, "UPDATE members SET role = 'superuser'")
        let corrupt = StoreError.corrupt("members.role holds 'superuser', which this release does not know")
        #expect(throws: corrupt) { try store.read { try $0.role(userID: userID, workspaceID: workspaceID) } }
        #expect(throws: corrupt) { try store.read { try $0.memberships(userID: userID) } }
        #expect(throws: corrupt) { try store.read { try $0.members(workspaceID: workspaceID) } }
        #expect(throws: corrupt) { try store.read { try $0.workspaces(userID: userID) } }
    }

    @Test("an unknown key mode and an unknown invitation status are corrupt")
    func unknownModeAndStatus() throws {
        let (store, userID, workspaceID) = try seeded()
        defer { store.close() }
        let key = try store.write { writer in
            try writer.createAPIKey(userID: userID, mode: .full, workspaceID: nil, name: "k", prefix: "atr_",
                                    secretHash: [1, 2, 3], permissions: nil, expiresAt: nil, allowList: [], now: 1)
        }
        #expect(key.mode == .full)
        let invitation = try store.write { writer in
            try writer.createInvitation(workspaceID: workspaceID, email: "i@example.com", role: .editor,
                                        tokenHash: [9, 9], invitedBy: userID, expiresAt: 100, now: 1)
        }
        try tamper(store, "UPDATE api_keys SET mode = 'root'; UPDATE invitations SET status = 'lost'")
        #expect(throws: StoreError.corrupt("api_keys.mode holds 'root', which this release does not know")) {
            try store.read { try $0.apiKey(id: key.id) }
        }
        #expect(throws: StoreError.corrupt("invitations.status holds 'lost', which this release does not know")) {
            try store.read { try $0.invitation(id: invitation.id) }
        }
    }
}
