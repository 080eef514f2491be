import AtriumAuth
import AtriumCrypto
import AtriumJSON
import AtriumSQLite
import AtriumStore
import Foundation
import Testing

/// Invitation tokens at rest (issue #13): only their SHA-256 is stored; the token is shown at
/// invite and resend only; a row written in plaintext by an older release still accepts after
/// the migration, and its plaintext is gone from the file.
@Suite("Invitation tokens at rest",
       .enabled(if: TestEngine.isSQLite, "SQLite only: reads the database file; PostgreSQL: AtriumPostgresTests"))
struct InvitationTokenTests {
    private static let password = "correct horse battery"

    /// The database's columns of `invitations` and the token hashes it holds.
    private func stored(_ directory: String) throws -> (columns: [String], hashes: [[UInt8]]) {
        var configuration = SQLiteConfiguration(path: directory + "/atrium.db")
        configuration.readerCount = 1
        let database = try SQLiteDatabase(configuration: configuration, migrations: EmbeddedMigrations.all)
        defer { database.close() }
        return try database.read { connection in
            let columns = try connection.query("PRAGMA table_info(invitations)").compactMap { row -> String? in
                if case .text(let name) = row[1] { return name }
                return nil
            }
            let hashes = try connection.query("SELECT token_hash FROM invitations ORDER BY id").compactMap { row in
                if case .blob(let hash) = row[0] { return hash }
                return nil
            }
            return (columns, hashes)
        }
    }

    private func fileContains(_ directory: String, _ text: String) throws -> Bool {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/atrium.db"))
        return bytes.range(of: Data(text.utf8)) != nil
    }

    @Test("new invitations: the token is answered at invite and resend, stored only as its hash")
    func newInvitationsAreHashed() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp(email: uniqueEmail("owner"))
        let invitee = try client.signUp(email: uniqueEmail("invitee"))
        let created = try Admin.invite(client, owner, owner.mainWorkspaceID, email: invitee.email)
        let first = try #require(created.json["token"]?.stringValue)
        let id = try #require(created.json["id"]?.int64Value)
        let pending = try Admin.pending(client, invitee)
        #expect(pending.count == 1 && pending.first?["token"] == nil, "\(pending)")
        let resent = try client.request("POST", "/v1/workspaces/invitations/\(id)/resend", headers: [owner.bearer])
        let second = try #require(resent.json["token"]?.stringValue)
        #expect(try Admin.accept(client, invitee, token: first).status == 404)
        #expect(try Admin.accept(client, invitee, token: "inv_" + String(repeating: "Z", count: 40)).status == 404)
        #expect(try Admin.accept(client, invitee, token: second).status == 200)
        #expect(server.stop() == 0)
        let (columns, hashes) = try stored(server.dataDirectory)
        #expect(!columns.contains("token") && columns.contains("token_hash"), "\(columns)")
        #expect(hashes == [SHA256Digest.hash(second)])
        #expect(try !fileContains(server.dataDirectory, second))
        #expect(try !fileContains(server.dataDirectory, first))
    }

    @Test("a plaintext invitation of an older release still accepts after migrating; its text is gone")
    func legacyPlaintextRowStillAccepts() throws {
        let directory = TestServer.makeTemporaryDirectory()
        let legacyToken = "inv_" + String((0..<40).map { _ in "abcdefghijkLMNOPQRS0123456789".randomElement() ?? "a" })
        var configuration = SQLiteConfiguration(path: directory + "/atrium.db")
        configuration.readerCount = 1
        let old = try SQLiteDatabase(configuration: configuration,
                                     migrations: EmbeddedMigrations.all.filter { $0.version <= 5 })
        let hash = PasswordHasher(iterations: 1000).hash(Self.password)
        let workspaceID = try old.write { connection -> Int64 in
            let insertUser = "INSERT INTO users (email, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, 1, 1)"
            try connection.run(insertUser, [.text("owner@example.com"), .text("Owner"), .text(hash)])
            let owner = connection.lastInsertRowID
            try connection.run(insertUser, [.text("invitee@example.com"), .text("Invitee"), .text(hash)])
            try connection.run("""
                INSERT INTO workspaces (name, color, metadata, owner_id, created_at, updated_at)
                VALUES ('Team', NULL, '{}', ?, 1, 1)
                """, [.integer(owner)])
            let workspace = connection.lastInsertRowID
            try connection.run("INSERT INTO members (workspace_id, user_id, role, joined_at) VALUES (?, ?, 'owner', 1)",
                               [.integer(workspace), .integer(owner)])
            try connection.run("""
                INSERT INTO invitations (workspace_id, email, role, token, status, invited_by, expires_at,
                                         created_at, updated_at)
                VALUES (?, 'invitee@example.com', 'editor', ?, 'pending', ?, 4102444800000, 1, 1)
                """, [.integer(workspace), .text(legacyToken), .integer(owner)])
            return workspace
        }
        old.close()
        #expect(try fileContains(directory, legacyToken) || FileManager.default.fileExists(atPath: directory + "/atrium.db-wal"))

        let server = try TestServer(dataDirectory: directory)
        let client = try server.client()
        let login = try client.request("POST", "/v1/auth/login",
                                       body: #"{"email":"invitee@example.com","password":"\#(Self.password)"}"#)
        let access = try #require(login.json["access_token"]?.stringValue, "\(login.text)")
        let invitee = ("Authorization", "Bearer \(access)")
        let unknown = try client.request("POST", "/v1/workspaces/invitations/inv_unknown/accept", headers: [invitee])
        #expect(unknown.status == 404 && unknown.json["error"]?["code"]?.stringValue == "NOT_FOUND", "\(unknown.text)")
        let accepted = try client.request("POST", "/v1/workspaces/invitations/\(legacyToken)/accept", headers: [invitee])
        #expect(accepted.status == 200, "\(accepted.text)")
        #expect(accepted.json["workspace"]?["id"]?.int64Value == workspaceID, "\(accepted.text)")
        #expect(accepted.json["member"]?["role"]?.stringValue == "editor", "\(accepted.text)")
        #expect(server.stop() == 0)

        let (columns, hashes) = try stored(directory)
        #expect(!columns.contains("token"), "\(columns)")
        #expect(hashes == [SHA256Digest.hash(legacyToken)])
        #expect(try !fileContains(directory, legacyToken), "the plaintext token is still in the file")
    }
}
