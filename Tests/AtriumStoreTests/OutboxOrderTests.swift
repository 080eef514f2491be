@testable import AtriumStore
import Foundation
import Testing

/// The outbox on PostgreSQL never skips an event whose transaction commits late (server.md,
/// "The outbox on PostgreSQL"): two overlapping transactions, the one that took the smaller
/// id committing last. A reader that has moved past the first committed event still gets the
/// late one next. SQLite cannot overlap two write transactions (one writer), so there the
/// question does not arise and the test would only wait on itself.
@Suite("Outbox order", .enabled(if: TestStores.isPostgres, "PostgreSQL only: SQLite has one writer"))
struct OutboxOrderTests {
    @Test("a late-committing event is read after the ones that committed before it, none skipped")
    func lateCommitIsNotSkipped() throws {
        let store = try TestStores.open(tag: "order")
        defer { store.close() }
        let workspace = try store.write { writer -> Int64 in
            let user = try writer.createUser(email: "o@example.com", name: "O", passwordHash: "x", now: 1)
            return try writer.createWorkspace(ownerID: user.id, name: "O", color: nil, metadata: "{}", now: 1).id
        }
        let inserted = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        // The early transaction: takes its outbox id first, then waits before committing.
        store.write({ writer in
            try writer.appendEvent(workspaceID: workspace, type: "record.created", data: #"{"n":"early"}"#, now: 2)
            inserted.signal()
            release.wait()
        }, completion: { _ in finished.signal() })
        inserted.wait()
        // The late transaction: a larger id, committed (and numbered) first.
        try store.write { writer in
            try writer.appendEvent(workspaceID: workspace, type: "record.created", data: #"{"n":"late"}"#, now: 3)
        }
        let first = try store.read { reader in try reader.outboxEvents(after: 0, limit: 10) }
        #expect(first.map(\.data) == [#"{"n":"late"}"#], "only the committed event is visible")
        release.signal()
        finished.wait()
        let cursor = try #require(first.last?.id)
        let next = try store.read { reader in try reader.outboxEvents(after: cursor, limit: 10) }
        #expect(next.map(\.data) == [#"{"n":"early"}"#], "the late commit comes after the cursor, not before it")
        let all = try store.read { reader in try reader.outboxEvents(after: 0, limit: 10) }
        #expect(all.map(\.id) == all.map(\.id).sorted() && all.count == 2)
    }
}
