import AtriumStore
import Testing
@testable import AtriumWebhooks

@Suite struct ScheduleTests {
    static func row(id: Int64 = 1, cursor: Int64) -> WebhookRow {
        WebhookRow(id: id, workspaceID: 7, url: "https://example.com/", description: nil, events: ["*"], fields: nil,
                   active: true, disabledReason: nil, secret: "whsec_AAAA", previousSecret: nil,
                   previousSecretExpiresAt: nil, secretRotatedAt: nil, createdBy: 1, createdAt: 0, updatedAt: 0,
                   cursor: cursor)
    }

    @Test func aReloadKeepsItsPlaceButAdoptsACursorTheAPIMovedForward() {
        var schedule = Schedule()
        schedule.replaceEndpoints(of: 7, with: [Self.row(cursor: 5)]) { _ in 3 }
        schedule.endpoints[1]?.scannedTo = 8
        schedule.endpoints[1]?.firstInFlight = [7]
        // Same cursor in the store: nothing changes but the events filter and the wake-up.
        schedule.replaceEndpoints(of: 7, with: [Self.row(cursor: 5)]) { _ in 99 }
        #expect(schedule.endpoints[1]?.scannedTo == 8)
        #expect(schedule.endpoints[1]?.settledThrough == 6)
        // Turned off and on between two rounds: the store's cursor jumped to the newest event.
        schedule.replaceEndpoints(of: 7, with: [Self.row(cursor: 20)]) { _ in 0 }
        #expect(schedule.endpoints[1]?.scannedTo == 20)
        #expect(schedule.endpoints[1]?.cursor == 20)
        #expect(schedule.endpoints[1]?.backlog == 0)
        // Gone from the store: dropped.
        schedule.replaceEndpoints(of: 7, with: []) { _ in 0 }
        #expect(schedule.endpoints.isEmpty)
        #expect(schedule.byWorkspace[7] == nil)
    }

    @Test func settledThroughStopsBeforeTheOldestOpenFirstAttempt() {
        var state = EndpointState(id: 1, workspaceID: 7, events: ["*"], cursor: 0, scannedTo: 10)
        #expect(state.settledThrough == 10)
        state.firstInFlight = [9, 4]
        #expect(state.settledThrough == 3)
    }
}
