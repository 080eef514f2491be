import AtriumSQLite
import AtriumStore
import Foundation
import Testing

/// The delivery queue's store operations: routing guards, outcomes with retries, the 410
/// switch-off, and purging without time indexes.
@Suite("Webhook store")
struct WebhookStoreTests {
    let store: Store
    let workspace: Int64
    let webhook: WebhookRow

    init() throws {
        store = try TestStores.open(tag: "hooks")
        let (workspace, webhook) = try store.write { writer -> (Int64, WebhookRow) in
            let user = try writer.createUser(email: "w@example.com", name: "W", passwordHash: "x", now: 1)
            let workspace = try writer.createWorkspace(ownerID: user.id, name: "W", color: nil, metadata: "{}", now: 1)
            let webhook = try writer.insertWebhook(
                workspaceID: workspace.id, url: "https://example.com/h", description: nil, events: ["*"],
                fields: ["title"], active: true, secret: "whsec_AAAA", createdBy: user.id, now: 1)
            return (workspace.id, webhook)
        }
        self.workspace = workspace
        self.webhook = webhook
    }

    @Test func endpointsRoundTripTheirSettings() throws {
        let read = try #require(try store.read { reader in try reader.webhook(id: webhook.id) })
        #expect(read.events == ["*"])
        #expect(read.fields == ["title"])
        #expect(read.active)
        #expect(read.wants("record.deleted"))
    }

    @Test func aFailedAttemptSchedulesTheNextAndASuccessEndsIt() throws {
        let id = webhook.id
        let first = try store.write { writer in
            try writer.insertDelivery(webhookID: id, eventID: 7, eventType: "record.created", attempt: 1, dueAt: 10, now: 10)
        }
        let retry = try store.write { writer in
            try writer.recordOutcome(DeliveryOutcome(
                deliveryID: first, webhookID: id, eventID: 7, eventType: "record.created", attempt: 1, succeeded: false,
                responseStatus: 500, error: "HTTP 500", durationMilliseconds: 3, retryAt: 5_010, disableReason: nil), now: 10)
        }
        let second = try #require(retry)
        // Writing the same outcome twice changes nothing (the row is no longer pending).
        let again = try store.write { writer in
            try writer.recordOutcome(DeliveryOutcome(
                deliveryID: first, webhookID: id, eventID: 7, eventType: "record.created", attempt: 1, succeeded: false,
                responseStatus: 500, error: "HTTP 500", durationMilliseconds: 3, retryAt: 5_010, disableReason: nil), now: 11)
        }
        #expect(again == nil)
        let rows = try store.read { reader in try reader.deliveries(webhookID: id, before: nil, limit: 10) }
        #expect(rows.map(\.attempt) == [2, 1])
        #expect(rows.map(\.status) == [.pending, .failed])
        #expect(rows[1].nextAttemptAt == 5_010)
        #expect(rows[0].nextAttemptAt == 5_010)
        let due = try store.read { reader in try reader.dueDeliveries(webhookID: id, now: 5_009, excluding: [], limit: 4) }
        #expect(due.isEmpty)
        let later = try store.read { reader in try reader.dueDeliveries(webhookID: id, now: 5_010, excluding: [], limit: 4) }
        #expect(later.map(\.id) == [second])
        let excluded = try store.read { reader in
            try reader.dueDeliveries(webhookID: id, now: 5_010, excluding: [second], limit: 4)
        }
        #expect(excluded.isEmpty)
    }

    @Test func aFirstAttemptAddsItsRowAndMovesNothingElse() throws {
        let id = webhook.id
        let next = try store.write { writer in
            try writer.recordOutcome(DeliveryOutcome(
                deliveryID: nil, webhookID: id, eventID: 3, eventType: "record.created", attempt: 1, succeeded: false,
                responseStatus: nil, error: "timeout", durationMilliseconds: 15, retryAt: 99, disableReason: nil,
                attemptedAt: 40), now: 41)
        }
        #expect(next != nil)
        let rows = try store.read { reader in try reader.deliveries(webhookID: id, before: nil, limit: 10) }
        #expect(rows.map(\.attempt) == [2, 1])
        #expect(rows[1].createdAt == 40)
        #expect(rows[1].error == "timeout")
    }

    @Test func aGoneAnswerTurnsTheEndpointOffAndCancelsItsRetries() throws {
        let id = webhook.id
        let retry = try store.write { writer in
            try writer.insertDelivery(webhookID: id, eventID: 9, eventType: "record.created", attempt: 2, dueAt: 50, now: 1)
        }
        _ = try store.write { writer in
            try writer.recordOutcome(DeliveryOutcome(
                deliveryID: nil, webhookID: id, eventID: 1, eventType: "record.created", attempt: 1, succeeded: false,
                responseStatus: 410, error: "HTTP 410", durationMilliseconds: 1, retryAt: nil, disableReason: "gone"), now: 2)
        }
        let row = try #require(try store.read { reader in try reader.webhook(id: id) })
        #expect(!row.active)
        #expect(row.disabledReason == "gone")
        let rows = try store.read { reader in try reader.deliveries(webhookID: id, before: nil, limit: 10) }
        #expect(rows.first { $0.id == retry }?.status == .failed)
        #expect(try store.read { reader in try reader.allActiveWebhooks() }.isEmpty)
    }

    @Test func aNewEndpointStartsAfterTheNewestEventAndCursorsOnlyMoveForward() throws {
        let workspace = workspace
        // The events commit first: on PostgreSQL an event gets its place in the order once its
        // transaction has committed, so one written beside the endpoint is not yet before it.
        try store.write { writer in
            try writer.appendEvent(workspaceID: workspace, type: "record.created", data: "{}", now: 5)
            try writer.appendEvent(workspaceID: workspace, type: "record.created", data: "{}", now: 6)
        }
        let created = try store.write { writer -> WebhookRow in
            try writer.insertWebhook(workspaceID: workspace, url: "https://example.com/2", description: nil,
                                            events: ["*"], fields: nil, active: true, secret: "whsec_AAAA",
                                            createdBy: 1, now: 7)
        }
        #expect(created.cursor == 2)
        try store.write { writer in
            try writer.advanceWebhookCursor(webhookID: created.id, to: 5)
            try writer.advanceWebhookCursor(webhookID: created.id, to: 3)
        }
        #expect(try store.read { reader in try reader.webhook(id: created.id) }?.cursor == 5)
        let headers = try store.read { reader in try reader.workspaceEventHeaders(workspaceID: workspace, after: 1, limit: 10) }
        #expect(headers.map(\.id) == [2])
    }

    @Test func deletingTheWorkspaceTakesItsEndpointsAndDeliveries() throws {
        let (id, workspace) = (webhook.id, workspace)
        _ = try store.write { writer in
            try writer.insertDelivery(webhookID: id, eventID: 1, eventType: "record.created", attempt: 1, dueAt: 1, now: 1)
        }
        try store.write { writer in try writer.deleteWorkspace(id: workspace) }
        #expect(try store.read { reader in try reader.webhook(id: id) } == nil)
        #expect(try store.read { reader in try reader.pendingDeliverySummary() }.isEmpty)
    }

    @Test func purgeForgetsOnlyOldRoutedEventsAndFinishedAttempts() throws {
        let (id, workspace) = (webhook.id, workspace)
        try store.write { writer in
            for time: Int64 in [100, 200, 300] {
                try writer.appendEvent(workspaceID: workspace, type: "record.created", data: "{}", now: time)
            }
            try writer.advanceWebhookCursor(webhookID: id, to: 2)
            let done = try writer.insertDelivery(webhookID: id, eventID: 1, eventType: "record.created", attempt: 1,
                                                 dueAt: 100, now: 100)
            _ = try writer.recordOutcome(DeliveryOutcome(
                deliveryID: done, webhookID: id, eventID: 1, eventType: "record.created", attempt: 1, succeeded: true,
                responseStatus: 200, error: nil, durationMilliseconds: 1, retryAt: nil, disableReason: nil), now: 100)
            _ = try writer.insertDelivery(webhookID: id, eventID: 2, eventType: "record.created", attempt: 1, dueAt: 100,
                                          now: 100)
        }
        let removed = try store.write { writer in try writer.purgeEvents(before: 1_000, limit: 1000) }
        // Event 1 (behind every active cursor) and its finished attempt go; event 2 stays while
        // its pending retry needs its payload, and so does event 3 (ahead of the cursor).
        #expect(removed == 2)
        let left = try store.read { reader in try reader.outboxEvents(after: 0, limit: 10) }
        #expect(left.map(\.id) == [2, 3])
        let deliveries = try store.read { reader in try reader.deliveries(webhookID: id, before: nil, limit: 10) }
        #expect(deliveries.map(\.status) == [.pending])
    }
}
