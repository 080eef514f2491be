import AtriumAuth
import AtriumCrypto
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// Invitations (api.md §5): invite, list one's own, accept, resend, revoke.
enum InvitationEndpoints {
    static let hour: Int64 = 3_600_000

    static func all() -> [Endpoint] {
        [
            Endpoint(.post, "/v1/workspaces/{id}/members/invite",
                     .path(.session, parameter: "id", .membersInvite, .respond(invite)), documentation: Docs.invite),
            Endpoint(.get, "/v1/workspaces/invitations/pending", .account(.session, .read(pending)),
                     documentation: Docs.pending),
            Endpoint(.post, "/v1/workspaces/invitations/{token}/accept", .account(.session, .respond(accept)),
                     documentation: Docs.accept),
            Endpoint(.post, "/v1/workspaces/invitations/{invitationId}/resend", .row(.session, row, .write(resend)),
                     documentation: Docs.resend),
            Endpoint(.delete, "/v1/workspaces/invitations/{invitationId}", .row(.session, row, .write(revoke)),
                     documentation: Docs.revoke),
        ]
    }

    /// What the OpenAPI document says about each operation.
    enum Docs {
        static let invite = EndpointDocumentation(
            "inviteMember", "Invite someone by email", success: 201,
            errors: [.validationFailed, .invalidJSON, .alreadyMember, .invitationPending, .rateLimited, .limitReached,
                     .idempotencyConflict, .invalidParameter],
            request: .ref("InvitationCreate"), response: .ref("Invitation"), parameters: [.idempotencyKey],
            links: OperationLink.each(["resendInvitation", "revokeInvitation"],
                                      [("invitationId", "$response.body#/id")])
                + [OperationLink(to: "acceptInvitation", [("token", "$response.body#/token")])])
        static let pending = EndpointDocumentation(
            "listPendingInvitations", "Pending invitations addressed to the caller",
            response: .page(of: .ref("Invitation")))
        static let accept = EndpointDocumentation(
            "acceptInvitation", "Accept an invitation addressed to the caller",
            errors: [.notFound, .invitationNotPending, .alreadyMember, .limitReached],
            response: .ref("AcceptedInvitation"),
            links: OperationLink.each(["changeMemberRole", "removeMember"],
                                      [("id", "$response.body#/workspace/id"),
                                       ("memberId", "$response.body#/member/id")]))
        static let resend = EndpointDocumentation(
            "resendInvitation", "A fresh token and expiry for a pending or expired invitation",
            errors: [.invitationNotPending], response: .ref("Invitation"))
        static let revoke = EndpointDocumentation(
            "revokeInvitation", "Revoke an invitation (inviters) or decline it (the invitee)", success: 204)
    }

    static func newToken() -> String { "inv_" + SecureRandom.base62(40) }

    static func invite(_ request: WorkspaceRequest) throws -> HTTPResponse {
        var body = try request.body()
        let rawEmail = body.string("email", required: true, maxLength: 320)
        let roleText = body.string("role", required: true, maxLength: 16)
        let email = rawEmail.flatMap(AuthEndpoints.normalizedEmail)
        if rawEmail != nil && email == nil { body.addProblem("email", "must be an email address") }
        let role = roleText.flatMap(Role.init(rawValue:))
        if roleText != nil && (role == nil || role == .owner) {
            body.addProblem("role", "must be admin, editor or viewer")
        }
        try body.validate()
        guard let email, let role else { throw APIError.invalidJSON }
        let workspaceID = request.workspace.workspaceID
        let callerID = request.principal.userID
        let actor = request.actor
        let now = request.now
        let services = request.services
        let token = newToken()
        let lifetime = services.configuration.invitationTTLSeconds * 1000
        // The token is shown once: a replayed invite answers without it (only its hash is kept).
        return try Idempotency.create(request, workspaceID: workspaceID, redacting: ["token"]) {
            writer -> InvitationRow in
            let (_, plan) = try FeatureGate.ownerPlan(of: workspaceID, services: services, reader: writer.reader)
            if let invitee = try writer.reader.user(email: email),
               try writer.reader.role(userID: invitee.id, workspaceID: workspaceID) != nil {
                throw APIError(.alreadyMember, "This person is already a member.")
            }
            if try writer.reader.pendingInvitation(workspaceID: workspaceID, email: email, now: now) != nil {
                throw APIError(.invitationPending, "An invitation to this email is already pending.")
            }
            if let limit = plan.maxMembersPerWorkspace {
                let members = try writer.reader.members(workspaceID: workspaceID).count
                let pending = try writer.reader.pendingInvitationCount(workspaceID: workspaceID, now: now)
                if members + pending >= limit { throw APIError.limitReached("members per workspace") }
            }
            if let perHour = plan.invitesPerHour {
                let bucket = "invite:\(workspaceID)"
                let used = try writer.reader.rateLimitCount(bucket: bucket, windowMilliseconds: hour, now: now)
                if used >= perHour {
                    throw APIError.rateLimited(retryAfterSeconds: Int((hour - now % hour + 999) / 1000))
                }
                try writer.hitRateLimit(bucket: bucket, windowMilliseconds: hour, now: now)
            }
            let invitation = try writer.createInvitation(
                workspaceID: workspaceID, email: email, role: role, tokenHash: InvitationToken.hash(token),
                invitedBy: callerID,
                expiresAt: now + lifetime, now: now)
            try writer.audit(workspaceID: workspaceID, action: "invitation.created", actor: actor,
                             target: Presenters.target([("invitation_id", .number(JSONNumber(invitation.id))),
                                                        ("email", .string(email)), ("role", .string(role.rawValue))]),
                             now: now)
            return invitation
        } answer: { invitation in
            Respond.created(location: "/v1/workspaces/invitations/\(invitation.id)") { writer in
                Presenters.invitation(invitation, token: token, now: now, into: &writer)
            }
        }
    }

    static func pending(_ request: AccountRequest, reader: StoreReader) throws -> HTTPResponse {
        guard let user = try reader.user(id: request.principal.userID) else { throw APIError.invalidToken }
        let now = request.now
        let invitations = try reader.pendingInvitations(email: user.email, now: now)
        return Respond.json { writer in
            Presenters.list(invitations, into: &writer) { Presenters.invitation($0, now: now, into: &$1) }
        }
    }

    static func accept(_ request: AccountRequest) throws -> HTTPResponse {
        guard let token = request.context.parameter("token"), !token.isEmpty, token.utf8.count <= 128 else {
            throw APIError.notFound
        }
        let callerID = request.principal.userID
        let actor = request.actor
        let now = request.now
        let services = request.services
        let (workspace, member, main) = try services.store.write { writer -> (WorkspaceRow, MemberRow, Int64?) in
            guard let user = try writer.reader.user(id: callerID),
                  let invitation = try writer.reader.invitation(tokenHash: InvitationToken.hash(token)),
                  invitation.email == user.email else {
                throw APIError.notFound
            }
            guard invitation.visibleStatus(now: now) == .pending else {
                throw APIError(.invitationNotPending, "This invitation is no longer pending.")
            }
            let workspaceID = invitation.workspaceID
            if try writer.reader.role(userID: callerID, workspaceID: workspaceID) != nil {
                throw APIError(.alreadyMember, "You are already a member of this workspace.")
            }
            let ownPlan = services.plans.plan(named: user.plan)
            if let limit = ownPlan.maxWorkspacesPerUser,
               try writer.reader.memberships(userID: callerID).count >= limit {
                throw APIError.limitReached("workspaces per user")
            }
            let (_, plan) = try FeatureGate.ownerPlan(of: workspaceID, services: services, reader: writer.reader)
            if let limit = plan.maxMembersPerWorkspace,
               try writer.reader.members(workspaceID: workspaceID).count >= limit {
                throw APIError.limitReached("members per workspace")
            }
            let member = try writer.addMember(workspaceID: workspaceID, userID: callerID, role: invitation.role,
                                              now: now)
            try writer.setInvitationStatus(id: invitation.id, status: .accepted, now: now)
            try writer.audit(workspaceID: workspaceID, action: "invitation.accepted", actor: actor,
                             target: Presenters.target([("invitation_id", .number(JSONNumber(invitation.id))),
                                                        ("user_id", .number(JSONNumber(callerID))),
                                                        ("role", .string(invitation.role.rawValue))]), now: now)
            try writer.appendEvent(workspaceID: workspaceID, type: "member.added",
                                   data: MemberEndpoints.memberEvent(member), now: now)
            guard let workspace = try writer.reader.workspace(id: workspaceID, userID: callerID) else {
                throw APIError.notFound
            }
            return (workspace, member, user.mainWorkspaceID)
        }
        return Respond.json { writer in
            writer.beginObject()
            writer.key("workspace")
            Presenters.workspace(workspace, mainWorkspaceID: main, into: &writer)
            writer.key("member")
            Presenters.member(member, into: &writer)
            writer.endObject()
        }
    }

    /// An invitation's workspace, for the pipeline's row rule (managing needs members:invite).
    static let row = RowScope(parameter: "invitationId", needs: .membersInvite) { reader, id in
        try reader.invitation(id: id)?.workspaceID
    }

    /// The invitation a row write acts on, in the workspace the pipeline resolved for it.
    static func current(_ id: Int64, in workspaceID: Int64, reader: StoreReader) throws -> InvitationRow {
        guard let invitation = try reader.invitation(id: id), invitation.workspaceID == workspaceID else {
            throw APIError.notFound
        }
        return invitation
    }

    static func resend(_ request: AccountRequest) throws -> RowWrite {
        let id = try request.pathID("invitationId")
        let actor = request.actor
        let now = request.now
        let token = newToken()
        let lifetime = request.services.configuration.invitationTTLSeconds * 1000
        return RowWrite { writer, workspace in
            let invitation = try current(id, in: workspace.workspaceID, reader: writer.reader)
            guard invitation.status == .pending else {
                throw APIError(.invitationNotPending, "Only a pending or expired invitation can be resent.")
            }
            try writer.renewInvitation(id: id, tokenHash: InvitationToken.hash(token), expiresAt: now + lifetime,
                                       now: now)
            try writer.audit(workspaceID: invitation.workspaceID, action: "invitation.resent", actor: actor,
                             target: Presenters.target([("invitation_id", .number(JSONNumber(id)))]), now: now)
            guard let renewed = try writer.reader.invitation(id: id) else { throw APIError.notFound }
            return StoreWrite.Outcome(Respond.json { writer in
                Presenters.invitation(renewed, token: token, now: now, into: &writer)
            })
        }
    }

    /// Revoking needs members:invite in the invitation's workspace; the invitee may decline an
    /// invitation addressed to them without any right there (the row's declared alternative).
    static func revoke(_ request: AccountRequest) throws -> RowWrite {
        let id = try request.pathID("invitationId")
        let userID = request.principal.userID
        let actor = request.actor
        let now = request.now
        let revoke: @Sendable (InvitationRow, StoreWriter) throws -> StoreWrite.Outcome = { invitation, writer in
            if invitation.status == .pending {
                try writer.setInvitationStatus(id: id, status: .revoked, now: now)
                try writer.audit(workspaceID: invitation.workspaceID, action: "invitation.revoked", actor: actor,
                                 target: Presenters.target([("invitation_id", .number(JSONNumber(id)))]), now: now)
            }
            return StoreWrite.Outcome(Respond.noContent())
        }
        return RowWrite({ writer, workspace in
            try revoke(try current(id, in: workspace.workspaceID, reader: writer.reader), writer)
        }, otherwise: { writer in
            guard let invitation = try writer.reader.invitation(id: id),
                  try writer.reader.user(id: userID)?.email == invitation.email else { return nil }
            return try revoke(invitation, writer)
        })
    }
}
