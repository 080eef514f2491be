import AtriumAuth
import AtriumStore
import Testing
@testable import AtriumAPI

/// What an event stream sends and to whom, without a server: the type masks are the list's
/// visibility rule (`EventEndpoints.visibleTypes`) in bits, and the SSE text keeps the payload
/// on one `data:` line.
@Suite struct EventStreamVisibilityTests {
    static func event(_ id: Int64, _ workspace: Int64, _ type: String, data: String = #"{"id":1}"#) -> OutboxEvent {
        OutboxEvent(id: id, workspaceID: workspace, type: type, data: data, createdAt: 1_796_000_000_000)
    }

    @Test("masks follow the permission per workspace and the requested types, like the list")
    func masksMatchTheList() throws {
        let all = try EventEndpoints.requestedTypes(QueryParameters(""))
        let records = try EventEndpoints.requestedTypes(QueryParameters("type=record.*"))
        let viewer = ResolvedWorkspace(workspaceID: 7, role: .viewer, permissions: [.contentRead, .membersRead, .workspaceRead])
        let membersOnly = ResolvedWorkspace(workspaceID: 8, role: .viewer, permissions: [.membersRead])
        let masks = EventTypeMasks([viewer, membersOnly], wanted: all)
        #expect(masks.shows(Self.event(1, 7, "record.created")))
        #expect(masks.shows(Self.event(2, 7, "workspace.updated")))
        #expect(masks.shows(Self.event(3, 8, "member.added")))
        #expect(!masks.shows(Self.event(4, 8, "record.created")), "content:read is missing in 8")
        #expect(!masks.shows(Self.event(5, 9, "record.created")), "9 was not resolved")
        let narrowed = EventTypeMasks([viewer, membersOnly], wanted: records)
        #expect(narrowed.shows(Self.event(6, 7, "record.deleted")))
        #expect(!narrowed.shows(Self.event(7, 7, "member.added")))
        #expect(narrowed.byWorkspace[8] == nil, "a workspace where nothing is visible is left out")
        for type in WebhookEndpoints.eventTypes {
            let visible = EventEndpoints.visibleTypes(membersOnly.permissions, of: all).contains(type)
            #expect(EventTypeMasks([membersOnly], wanted: all).shows(Self.event(8, 8, type)) == visible, "\(type)")
        }
        // Re-validation compares masks: a narrower right is a different mask.
        #expect(EventTypeMasks([viewer], wanted: all) != EventTypeMasks([membersOnly], wanted: all))
    }

    @Test("one event is id, event and data lines and a blank line; line breaks never split the data")
    func sseText() {
        let text = String(decoding: ServerSentEvents.text(for: Self.event(42, 7, "record.created",
                                                                           data: "{\"a\":\n1,\r\n\"b\":\"x\\ny\"}")),
                          as: UTF8.self)
        #expect(text.hasPrefix("id: evt_42\nevent: record.created\ndata: {\"id\":\"evt_42\""), "\(text)")
        #expect(text.hasSuffix("\n\n"))
        #expect(text.split(separator: "\n", omittingEmptySubsequences: true).count == 3, "\(text)")
        #expect(text.contains(#""b":"x\ny""#), "an escaped line break inside a string stays as it is")
        #expect(!text.contains("\r"))
    }
}
