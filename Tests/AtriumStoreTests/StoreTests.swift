@testable import AtriumStore
import AtriumSQLite
import Foundation
import Testing

/// A store in a fresh temporary directory.
private func makeStore() throws -> Store {
    try TestStores.open()
}

@Suite("Store")
struct StoreTests {
    /// The binary carries its migrations; they must be exactly the files in migrations/sqlite/.
    @Test("embedded migrations equal migrations/sqlite/*.sql")
    func embeddedMigrationsMatchFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let folder = root.appendingPathComponent("migrations/sqlite")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.count == EmbeddedMigrations.all.count)
        for (file, migration) in zip(files, EmbeddedMigrations.all) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(file.hasPrefix(String(format: "%04d_", migration.version)))
            #expect(file == String(format: "%04d_%@.sql", migration.version, migration.name))
            #expect(text.trimmingCharacters(in: .newlines) == migration.sql.trimmingCharacters(in: .newlines))
        }
    }

    /// The hot queries must use their indexes: a full scan would make every request
    /// slower as tenants grow.
    @Test("hot queries use indexes", .enabled(if: TestStores.isSQLite, "SQLite only: EXPLAIN QUERY PLAN"), arguments: [
        "SELECT id FROM api_keys WHERE secret_hash = x'00'",
        "SELECT role FROM members WHERE user_id = 1 AND workspace_id = 2",
        "SELECT workspace_id, role FROM members WHERE user_id = 1 ORDER BY workspace_id",
        "SELECT id FROM sessions WHERE id = 1",
        "SELECT id FROM records WHERE workspace_id = 1 AND collection = 'items' AND id < 100 ORDER BY id DESC LIMIT 21",
        "SELECT id FROM records WHERE id = 5",
    ])
    func queryPlans(_ sql: String) throws {
        let store = try makeStore()
        defer { store.close() }
        let plan = try store.sqliteDatabase!.read { connection in
            try connection.query("EXPLAIN QUERY PLAN " + sql).map { row -> String in
                if case .text(let detail) = row.last ?? .null { return detail }
                return ""
            }
        }
        #expect(!plan.isEmpty)
        for step in plan {
            #expect(!step.hasPrefix("SCAN") || step.contains("USING"), "full scan in plan: \(plan)")
            #expect(!step.contains("TEMP B-TREE"), "sort in plan: \(plan)")
        }
    }

    @Test("email is unique; a second account with it is a conflict and writes nothing")
    func emailConflict() throws {
        let store = try makeStore()
        defer { store.close() }
        _ = try store.write { try $0.createUser(email: "a@example.com", name: "A", passwordHash: "h", now: 1) }
        #expect(throws: StoreError.conflict("email")) {
            _ = try store.write { try $0.createUser(email: "a@example.com", name: "B", passwordHash: "h", now: 2) }
        }
        let user = try store.read { try $0.user(email: "a@example.com") }
        #expect(user?.name == "A")
    }

    @Test("a workspace's owner is its member; deleting it is not possible while it is someone's main")
    func workspaceMembership() throws {
        let store = try makeStore()
        defer { store.close() }
        let (user, workspace) = try store.write { writer in
            let user = try writer.createUser(email: "o@example.com", name: "O", passwordHash: "h", now: 1)
            let workspace = try writer.createWorkspace(ownerID: user.id, name: "W", color: nil, metadata: "{}", now: 1)
            return (user, workspace)
        }
        #expect(workspace.role == .owner)
        let role = try store.read { try $0.role(userID: user.id, workspaceID: workspace.id) }
        #expect(role == .owner)
        #expect(try store.read { try $0.role(userID: user.id + 1, workspaceID: workspace.id) } == nil)
    }

    @Test("fan-out pages merge workspaces newest first, each record once")
    func fanOutMerge() throws {
        let store = try makeStore()
        defer { store.close() }
        let workspaces: [Int64] = try store.write { writer in
            let user = try writer.createUser(email: "f@example.com", name: "F", passwordHash: "h", now: 1)
            var ids: [Int64] = []
            for index in 0..<5 {
                ids.append(try writer.createWorkspace(ownerID: user.id, name: "W\(index)", color: nil, metadata: "{}", now: 1).id)
            }
            for n in 0..<50 {
                _ = try writer.insertRecord(workspaceID: ids[n % 5], collection: "items", data: "{\"n\":\(n)}",
                                            createdBy: user.id, now: 1)
            }
            return ids
        }
        var seen: [Int64] = []
        var cursor: Int64?
        repeat {
            let page = try store.read { reader in
                try reader.records(workspaceIDs: Array(workspaces.prefix(3)), collection: "items", before: cursor,
                                   limit: 7, filters: [])
            }
            #expect(page.map(\.id) == page.map(\.id).sorted(by: >))
            seen += page.map(\.id)
            cursor = page.count == 7 ? page.last?.id : nil
        } while cursor != nil
        let naive = try store.read { reader in
            try workspaces.prefix(3).flatMap { try reader.records(workspaceIDs: [$0], collection: "items", before: nil,
                                                                  limit: 100, filters: []) }
        }
        #expect(seen == naive.map(\.id).sorted(by: >))
        #expect(Set(seen).count == 30)
    }

    @Test("filters match strings by value and other scalars by their JSON text")
    func filters() throws {
        let store = try makeStore()
        defer { store.close() }
        let workspace: Int64 = try store.write { writer in
            let user = try writer.createUser(email: "x@example.com", name: "X", passwordHash: "h", now: 1)
            let id = try writer.createWorkspace(ownerID: user.id, name: "W", color: nil, metadata: "{}", now: 1).id
            for data in [#"{"s":"a","n":1,"b":true,"z":null}"#, #"{"s":"1","n":2,"b":false}"#, #"{"s":"true"}"#] {
                _ = try writer.insertRecord(workspaceID: id, collection: "c", data: data, createdBy: user.id, now: 1)
            }
            return id
        }
        func count(_ field: String, _ value: String) throws -> Int {
            try store.read { reader in
                try reader.records(workspaceIDs: [workspace], collection: "c", before: nil, limit: 10,
                                   filters: [RecordFilter(field: field, value: value)]).count
            }
        }
        #expect(try count("s", "a") == 1)
        #expect(try count("s", "1") == 1)
        #expect(try count("n", "1") == 1)
        #expect(try count("b", "true") == 1)
        #expect(try count("s", "true") == 1)
        #expect(try count("z", "null") == 1)
        #expect(try count("missing", "a") == 0)
    }
}

@Suite("Fan-out query plan", .enabled(if: TestStores.isSQLite, "SQLite only: EXPLAIN QUERY PLAN"))
struct FanOutPlanTests {
    /// A fan-out page must merge per-workspace index ranges, never sort them: a sort would
    /// read every record of every workspace on each page.
    @Test("fan-out merges index ranges without a sort")
    func fanOutPlan() throws {
        let directory = NSTemporaryDirectory() + "atrium-plan-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try Store(dataDirectory: directory, synchronous: .normal, readerCount: 1)
        defer { store.close() }
        let columns = "id, workspace_id, collection, data, version, created_by, created_at, updated_at"
        let terms = (0..<4).map { "SELECT \(columns) FROM records WHERE workspace_id = \($0 + 1) AND collection = 'c' AND id < 100" }
        let sql = terms.joined(separator: " UNION ALL ") + " ORDER BY id DESC LIMIT 21"
        let plan = try store.sqliteDatabase!.read { connection in
            try connection.query("EXPLAIN QUERY PLAN " + sql).map { row -> String in
                if case .text(let detail) = row.last ?? .null { return detail }
                return ""
            }
        }
        #expect(plan.contains { $0.contains("MERGE (UNION ALL)") })
        #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(plan)")
        #expect(plan.filter { $0.contains("USING INDEX records_by_collection") }.count == 4)
    }
}

@Suite("Fan-out over many workspaces")
struct ManyWorkspaceFanOutTests {
    /// 12 workspaces of the caller among 3 of another tenant: dense pages come from the
    /// collection walk, and a sparse stretch (700 newer foreign records) from the merge; every
    /// page must equal the naive union, newest first, each record once, nothing foreign.
    @Test("dense walk and sparse fallback both equal the naive union")
    func denseAndSparse() throws {
        let store = try TestStores.open(tag: "fan", readerCount: 1)
        defer { store.close() }
        let (mine, foreign): ([Int64], [Int64]) = try store.write { writer in
            let me = try writer.createUser(email: "me@example.com", name: "Me", passwordHash: "h", now: 1)
            let other = try writer.createUser(email: "other@example.com", name: "O", passwordHash: "h", now: 1)
            let mine = try (0..<12).map { try writer.createWorkspace(ownerID: me.id, name: "M\($0)", color: nil, metadata: "{}", now: 1).id }
            let foreign = try (0..<3).map { try writer.createWorkspace(ownerID: other.id, name: "F\($0)", color: nil, metadata: "{}", now: 1).id }
            for n in 0..<120 {
                _ = try writer.insertRecord(workspaceID: mine[n % 12], collection: "items", data: "{}", createdBy: me.id, now: 1)
                _ = try writer.insertRecord(workspaceID: foreign[n % 3], collection: "items", data: "{}", createdBy: other.id, now: 1)
            }
            for n in 0..<700 {
                _ = try writer.insertRecord(workspaceID: foreign[n % 3], collection: "items", data: "{}", createdBy: other.id, now: 1)
            }
            for n in 0..<30 {
                _ = try writer.insertRecord(workspaceID: mine[n % 12], collection: "items", data: "{}", createdBy: me.id, now: 1)
            }
            return (mine, foreign)
        }
        let naive = try store.read { reader in
            try mine.flatMap { try reader.records(workspaceIDs: [$0], collection: "items", before: nil, limit: 100, filters: []) }
        }.map(\.id).sorted(by: >)
        #expect(naive.count == 150)
        var seen: [Int64] = []
        var cursor: Int64?
        repeat {
            let page = try store.read { reader in
                try reader.records(workspaceIDs: mine, collection: "items", before: cursor, limit: 20, filters: [])
            }
            #expect(page.allSatisfy { mine.contains($0.workspaceID) && !foreign.contains($0.workspaceID) })
            seen += page.map(\.id)
            cursor = page.count == 20 ? page.last?.id : nil
        } while cursor != nil
        #expect(seen == naive)
    }
}
