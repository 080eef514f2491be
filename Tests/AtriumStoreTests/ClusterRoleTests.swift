import AtriumStore
import Foundation
import Testing

/// The webhook role's store side (migrations 0011): epochs that grow with each takeover, the
/// fence that refuses a former holder's writes, and one delivery row per attempt. On either
/// engine (`TestStores`).
@Suite("Cluster role and delivery fence")
struct ClusterRoleTests {
    @Test func eachTakeoverMovesTheEpochAndFencesTheFormerHolder() throws {
        let store = try TestStores.open(tag: "role")
        defer { store.close() }
        let first = try store.write { writer in try writer.takeClusterRole("webhooks", holder: "a", now: 1) }
        try store.write { writer in try writer.requireClusterRole("webhooks", epoch: first) }
        let second = try store.write { writer in try writer.takeClusterRole("webhooks", holder: "b", now: 2) }
        #expect(second == first + 1)
        #expect(throws: ClusterRoleLost.self) {
            try store.write { writer in try writer.requireClusterRole("webhooks", epoch: first) }
        }
        #expect(throws: ClusterRoleLost.self) {
            try store.write { writer in try writer.requireClusterRole("other", epoch: 1) }
        }
    }

    @Test func aRoleIsTakenOnceAtATimeAndFreedByRelease() throws {
        let store = try TestStores.open(tag: "role-lock")
        defer { store.close() }
        let one = store.clusterRole("webhooks", key: 0x4174_7269_756D_5478)
        let other = store.clusterRole("webhooks", key: 0x4174_7269_756D_5478)
        let epoch = try #require(try one.tryAcquire())
        #expect(one.heldEpoch() == epoch)
        if TestStores.isPostgres {
            #expect(try other.tryAcquire() == nil, "the advisory lock is held by the first session")
            one.release()
            #expect(one.heldEpoch() == nil)
            #expect(try other.tryAcquire() == epoch + 1)
            other.release()
        }
    }

    @Test func anAttemptWrittenBackTwiceIsRecordedOnce() throws {
        let store = try TestStores.open(tag: "role-rows")
        defer { store.close() }
        let webhookID = try store.write { writer -> Int64 in
            let user = try writer.createUser(email: "r@example.com", name: "R", passwordHash: "x", now: 1)
            let workspace = try writer.createWorkspace(ownerID: user.id, name: "R", color: nil, metadata: "{}", now: 1)
            return try writer.insertWebhook(
                workspaceID: workspace.id, url: "https://example.com/h", description: nil, events: ["*"], fields: nil,
                active: true, secret: "whsec_AAAA", createdBy: user.id, now: 1).id
        }
        let outcome = DeliveryOutcome(
            deliveryID: nil, webhookID: webhookID, eventID: 3, eventType: "record.created", attempt: 1,
            succeeded: false, responseStatus: 500, error: "HTTP 500", durationMilliseconds: 1, retryAt: 99,
            disableReason: nil, attemptedAt: 40)
        let retry = try store.write { writer in try writer.recordOutcome(outcome, now: 41) }
        let again = try store.write { writer in try writer.recordOutcome(outcome, now: 42) }
        #expect(retry != nil)
        #expect(again == nil, "the second write-back of the same attempt schedules nothing")
        let rows = try store.read { reader in try reader.deliveries(webhookID: webhookID, before: nil, limit: 10) }
        #expect(rows.map(\.attempt).sorted() == [1, 2], "\(rows.map(\.attempt))")
        let duplicate = try store.write { writer in
            try writer.insertDelivery(webhookID: webhookID, eventID: 3, eventType: "record.created", attempt: 2,
                                      dueAt: 99, now: 43)
        }
        #expect(duplicate == retry, "a scheduled attempt inserted twice is the same row")
    }
}
