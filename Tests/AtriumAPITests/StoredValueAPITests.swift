import AtriumJSON
import AtriumSQLite
import AtriumStore
import Foundation
import Testing

/// What a damaged row and a secret look like from outside (issues #12, #13).
@Suite("Stored values and secrets",
       .enabled(if: TestEngine.isSQLite, "SQLite only: tampers with the database file directly"))
struct StoredValueAPITests {
    @Test("an unknown stored role: 500 INTERNAL without details, logged naming the column; no secret in the log")
    func corruptRoleAndSecretsNeverLogged() throws {
        let server = try TestServer(Hooks.localFlags)
        let client = try server.client()
        let account = try client.signUp()
        let (webhookID, secret) = try Hooks.endpoint(client, account.bearer, url: "http://127.0.0.1:9/hook")
        let rotated = try client.request("POST", "/v1/webhooks/\(webhookID)/rotate-secret", headers: [account.bearer])
        let newSecret = try #require(rotated.json["secret"]?.stringValue, "\(rotated.text)")
        _ = try Admin.createRecord(client, account.bearer, account.mainWorkspaceID)

        // Another release (or a damaged file) wrote a role this one does not know.
        var configuration = SQLiteConfiguration(path: server.dataDirectory + "/atrium.db")
        configuration.readerCount = 1
        let database = try SQLiteDatabase(configuration: configuration, migrations: EmbeddedMigrations.all)
        try database.write { connection in
            try connection.execute("PRAGMA ignore_check_constraints=ON")
            defer { try? connection.execute("PRAGMA ignore_check_constraints=OFF") }
            try connection.run("UPDATE members SET role = 'superuser' WHERE user_id = ?", [.integer(account.userID)])
        }
        database.close()

        let response = try client.request("GET", "/v1/workspaces", headers: [account.bearer])
        expectError(response, 500, "INTERNAL", "a role this release does not know")
        #expect(!response.text.contains("superuser") && !response.text.contains("members"), "\(response.text)")
        var logged = false
        for _ in 0..<100 where !logged {
            logged = server.log.contains("members.role holds 'superuser'")
            if !logged { usleep(20_000) }
        }
        #expect(logged, "\(server.log.suffix(2000))")
        #expect(!server.log.contains(secret) && !server.log.contains(newSecret), "a webhook secret is in the log")
    }
}
