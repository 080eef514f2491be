import AtriumJSON
import Foundation
import Testing

/// Expiry needs a short lifetime (`--invitation-ttl 2`): an expired invitation cannot be
/// accepted, and resending it gives a fresh token and expiry while the old token dies.
@Suite("Invitation expiry")
struct InvitationExpiryTests {
    @Test("expired → 409 INVITATION_NOT_PENDING; resend revives it with a new token")
    func expiredInvitation() throws {
        let server = try TestServer(["--invitation-ttl", "2"])
        let client = try server.client()
        let owner = try client.signUp()
        let invitee = try client.signUp()
        let invite = try client.request("POST", "/v1/workspaces/\(owner.mainWorkspaceID)/members/invite",
                                        headers: [owner.bearer],
                                        body: #"{"email":"\#(invitee.email)","role":"viewer"}"#)
        #expect(invite.status == 201)
        let oldToken = try #require(invite.json["token"]?.stringValue)
        let invitationID = try #require(invite.json["id"]?.int64Value)
        Thread.sleep(forTimeInterval: 2.3)

        let pending = try client.request("GET", "/v1/workspaces/invitations/pending", headers: [invitee.bearer])
        #expect(pending.json["data"]?.arrayValue?.isEmpty == true)
        let late = try client.request("POST", "/v1/workspaces/invitations/\(oldToken)/accept", headers: [invitee.bearer])
        #expect(late.status == 409)
        #expect(late.errorCode == "INVITATION_NOT_PENDING")
        let members = try client.request("GET", "/v1/workspaces/\(owner.mainWorkspaceID)/members", headers: [owner.bearer])
        #expect(members.json["data"]?.arrayValue?.count == 1)

        let resent = try client.request("POST", "/v1/workspaces/invitations/\(invitationID)/resend", headers: [owner.bearer])
        #expect(resent.status == 200)
        #expect(resent.json["status"]?.stringValue == "pending")
        let newToken = try #require(resent.json["token"]?.stringValue)
        #expect(newToken != oldToken)
        let stale = try client.request("POST", "/v1/workspaces/invitations/\(oldToken)/accept", headers: [invitee.bearer])
        #expect(stale.status == 404)
        let accepted = try client.request("POST", "/v1/workspaces/invitations/\(newToken)/accept", headers: [invitee.bearer])
        #expect(accepted.status == 200)
        #expect(accepted.json["member"]?["role"]?.stringValue == "viewer")
    }
}
