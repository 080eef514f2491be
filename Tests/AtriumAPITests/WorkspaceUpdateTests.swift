import AtriumJSON
import Foundation
import Testing

/// An update that changes nothing must not look like a change: no audit entry, no new
/// `updated_at`.
@Suite("Workspace empty update")
struct WorkspaceUpdateTests {
    @Test("PATCH /v1/workspaces/{id} with {} writes nothing")
    func emptyPatchWritesNothing() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = owner.mainWorkspaceID
        let before = try client.request("GET", "/v1/workspaces/\(id)", headers: [owner.bearer])
        let auditBefore = try client.request("GET", "/v1/audit-log", headers: [owner.bearer, ("X-Workspace-ID", "\(id)")])
        let patched = try client.request("PATCH", "/v1/workspaces/\(id)", headers: [owner.bearer], body: "{}")
        #expect(patched.status == 200)
        #expect(patched.json["updated_at"] == before.json["updated_at"])
        let auditAfter = try client.request("GET", "/v1/audit-log", headers: [owner.bearer, ("X-Workspace-ID", "\(id)")])
        #expect(auditAfter.json["data"]?.arrayValue?.count == auditBefore.json["data"]?.arrayValue?.count)
        let renamed = try client.request("PATCH", "/v1/workspaces/\(id)", headers: [owner.bearer], body: #"{"name":"Renamed"}"#)
        #expect(renamed.json["name"]?.stringValue == "Renamed")
        let auditRenamed = try client.request("GET", "/v1/audit-log", headers: [owner.bearer, ("X-Workspace-ID", "\(id)")])
        #expect((auditRenamed.json["data"]?.arrayValue?.count ?? 0) == (auditBefore.json["data"]?.arrayValue?.count ?? 0) + 1)
    }
}
