import AtriumAuth
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// Workspace changes, members, roles and ownership (api.md §5). Every change writes its audit
/// entry (and, where api.md §6 names one, its event) in the same transaction.
enum MemberEndpoints {
    static let pathErrors = ["INVALID_WORKSPACE_ID", "CROSS_TENANT_WORKSPACE", "PERMISSION_DENIED"]

    static func all() -> [Endpoint] {
        [
            Endpoint(.patch, "/v1/workspaces/{id}",
                     .path(.any, parameter: "id", .workspaceUpdate, .respond(updateWorkspace)),
                     documentation: Docs.updateWorkspace),
            Endpoint(.delete, "/v1/workspaces/{id}",
                     .path(.session, parameter: "id", .workspaceDelete, .respond(deleteWorkspace)),
                     documentation: Docs.deleteWorkspace),
            Endpoint(.get, "/v1/workspaces/{id}/members",
                     .path(.any, parameter: "id", .membersRead, .read(listMembers)),
                     documentation: Docs.listMembers),
            Endpoint(.patch, "/v1/workspaces/{id}/members/{memberId}",
                     .path(.session, parameter: "id", .membersUpdateRoles, .respond(changeRole)),
                     documentation: Docs.changeRole),
            // Any member may leave; removing someone else needs members:remove (checked inside).
            Endpoint(.delete, "/v1/workspaces/{id}/members/{memberId}",
                     .path(.session, parameter: "id", .workspaceRead, .respond(removeMember)),
                     documentation: Docs.removeMember),
            Endpoint(.post, "/v1/workspaces/{id}/transfer-ownership",
                     .path(.session, parameter: "id", .ownershipTransfer, .respond(transferOwnership)),
                     documentation: Docs.transferOwnership),
        ]
    }

    /// What the OpenAPI document says about each operation.
    enum Docs {
        static let body: [ErrorCode] = [.validationFailed, .invalidJSON]
        static let updateWorkspace = EndpointDocumentation(
            "updateWorkspace", "Rename, recolor or re-tag a workspace", errors: body,
            request: .ref("WorkspaceUpdate"), response: .ref("Workspace"))
        static let deleteWorkspace = EndpointDocumentation(
            "deleteWorkspace", "Delete a workspace and everything in it", success: 204, errors: [.mainWorkspace])
        static let listMembers = EndpointDocumentation(
            "listMembers", "The workspace's members", response: .page(of: .ref("Member")))
        static let changeRole = EndpointDocumentation(
            "changeMemberRole", "Change a member's role", errors: body + [.invalidRoleTransition],
            request: .ref("RoleChange"), response: .ref("Member"))
        static let removeMember = EndpointDocumentation(
            "removeMember", "Remove a member, or leave", success: 204, errors: [.invalidRoleTransition])
        static let transferOwnership = EndpointDocumentation(
            "transferOwnership", "Make another member the owner; the old owner becomes admin", errors: body,
            request: .ref("OwnershipTransfer"), response: .ref("Workspace"))
    }

    static func updateWorkspace(_ request: WorkspaceRequest) throws -> HTTPResponse {
        var body = try request.body()
        let name = body.string("name", required: false, minLength: 1, maxLength: 100, trim: true)
        let color = body.nullableString("color", maxLength: 7)
        if case .some(.some(let text)) = color, !WorkspaceEndpoints.isColor(text) {
            body.addProblem("color", "must be #RRGGBB or null")
        }
        let metadata = body.objectText("metadata", maxBytes: 4096)
        try body.validate()
        let workspaceID = request.workspace.workspaceID
        let userID = request.principal.userID
        let actor = request.actor
        let now = request.now
        let changes = name != nil || color != nil || metadata != nil
        let (row, main) = try request.services.store.write { writer -> (WorkspaceRow, Int64?) in
            // An empty update answers the workspace as it is: no write, no audit entry, no event.
            guard changes else {
                guard let row = try writer.reader.workspace(id: workspaceID, userID: userID) else {
                    throw APIError.crossTenant
                }
                return (row, try writer.reader.user(id: userID)?.mainWorkspaceID)
            }
            try writer.updateWorkspace(id: workspaceID, name: name, color: color, metadata: metadata, now: now)
            guard let row = try writer.reader.workspace(id: workspaceID, userID: userID) else {
                throw APIError.crossTenant
            }
            var changed: [(String, JSONValue)] = [("workspace_id", .number(JSONNumber(workspaceID)))]
            if let name { changed.append(("name", .string(name))) }
            try writer.audit(workspaceID: workspaceID, action: "workspace.updated", actor: actor,
                             target: Presenters.target(changed), now: now)
            var event = JSONWriter()
            Presenters.workspace(row, mainWorkspaceID: nil, into: &event)
            try writer.appendEvent(workspaceID: workspaceID, type: "workspace.updated",
                                   data: String(decoding: event.bytes, as: UTF8.self), now: now)
            return (row, try writer.reader.user(id: userID)?.mainWorkspaceID)
        }
        return Respond.json { writer in Presenters.workspace(row, mainWorkspaceID: main, into: &writer) }
    }

    static func deleteWorkspace(_ request: WorkspaceRequest) throws -> HTTPResponse {
        let workspaceID = request.workspace.workspaceID
        let actor = request.actor
        let now = request.now
        try request.services.store.write { writer in
            if try writer.reader.isSomeonesMain(workspaceID: workspaceID) {
                throw APIError(.mainWorkspace, "A main workspace cannot be deleted; set another main first.")
            }
            try writer.deleteWorkspace(id: workspaceID)
            try writer.audit(workspaceID: workspaceID, action: "workspace.deleted", actor: actor,
                             target: Presenters.target([("workspace_id", .number(JSONNumber(workspaceID)))]), now: now)
        }
        return Respond.noContent()
    }

    static func listMembers(_ request: WorkspaceRequest, reader: StoreReader) throws -> HTTPResponse {
        let members = try reader.members(workspaceID: request.workspace.workspaceID)
        return Respond.json(capacity: 64 + members.count * 160) { writer in
            Presenters.list(members, into: &writer) { Presenters.member($0, into: &$1) }
        }
    }

    static func memberEvent(_ member: MemberRow) -> String {
        var writer = JSONWriter()
        Presenters.member(member, into: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    static func changeRole(_ request: WorkspaceRequest) throws -> HTTPResponse {
        let memberID = try request.pathID("memberId")
        var body = try request.body()
        let roleText = body.string("role", required: true, maxLength: 16)
        try body.validate()
        guard let roleText else { throw APIError.invalidJSON }
        guard let role = Role(rawValue: roleText) else {
            throw APIError.validation(field: "role", "must be admin, editor or viewer")
        }
        if role == .owner { throw invalidTransition("Use transfer-ownership to make someone the owner.") }
        let workspaceID = request.workspace.workspaceID
        let callerID = request.principal.userID
        let callerRole = request.workspace.role
        let actor = request.actor
        let now = request.now
        let member = try request.services.store.write { writer -> MemberRow in
            guard let member = try writer.reader.member(id: memberID, workspaceID: workspaceID) else {
                throw APIError.notFound
            }
            if member.role == .owner { throw invalidTransition("The owner's role cannot be changed.") }
            if member.userID == callerID && callerRole == .admin {
                throw invalidTransition("Admins cannot change their own role.")
            }
            guard member.role != role else { return member }
            try writer.setMemberRole(memberID: memberID, role: role)
            guard let updated = try writer.reader.member(id: memberID, workspaceID: workspaceID) else {
                throw APIError.notFound
            }
            try writer.audit(workspaceID: workspaceID, action: "member.role_changed", actor: actor,
                             target: Presenters.target([("member_id", .number(JSONNumber(memberID))),
                                                        ("user_id", .number(JSONNumber(member.userID))),
                                                        ("from", .string(member.role.rawValue)),
                                                        ("to", .string(role.rawValue))]),
                             now: now)
            try writer.appendEvent(workspaceID: workspaceID, type: "member.role_changed",
                                   data: memberEvent(updated), now: now)
            return updated
        }
        return Respond.json { writer in Presenters.member(member, into: &writer) }
    }

    static func invalidTransition(_ message: String) -> APIError {
        APIError(.invalidRoleTransition, message)
    }

    static func removeMember(_ request: WorkspaceRequest) throws -> HTTPResponse {
        let memberID = try request.pathID("memberId")
        let workspaceID = request.workspace.workspaceID
        let callerID = request.principal.userID
        let mayRemoveOthers = request.workspace.permissions.contains(.membersRemove)
        let actor = request.actor
        let now = request.now
        try request.services.store.write { writer in
            guard let member = try writer.reader.member(id: memberID, workspaceID: workspaceID) else {
                throw APIError.notFound
            }
            if member.userID != callerID && !mayRemoveOthers { throw APIError.permissionDenied }
            if member.role == .owner {
                throw invalidTransition("The owner cannot be removed or leave; transfer ownership first.")
            }
            try writer.removeMember(memberID: memberID)
            try writer.audit(workspaceID: workspaceID,
                             action: member.userID == callerID ? "member.left" : "member.removed",
                             actor: actor,
                             target: Presenters.target([("member_id", .number(JSONNumber(memberID))),
                                                        ("user_id", .number(JSONNumber(member.userID)))]), now: now)
            try writer.appendEvent(workspaceID: workspaceID, type: "member.removed",
                                   data: memberEvent(member), now: now)
        }
        return Respond.noContent()
    }

    static func transferOwnership(_ request: WorkspaceRequest) throws -> HTTPResponse {
        var body = try request.body()
        let newOwner = body.positiveInteger("user_id", required: true)
        try body.validate()
        guard let newOwner else { throw APIError.invalidJSON }
        let workspaceID = request.workspace.workspaceID
        let callerID = request.principal.userID
        let actor = request.actor
        let now = request.now
        let (row, main) = try request.services.store.write { writer -> (WorkspaceRow, Int64?) in
            guard newOwner != callerID,
                  let member = try writer.reader.member(userID: newOwner, workspaceID: workspaceID) else {
                throw APIError.validation(field: "user_id", "must be another current member of this workspace")
            }
            try writer.transferOwnership(workspaceID: workspaceID, from: callerID, to: newOwner, now: now)
            try writer.audit(workspaceID: workspaceID, action: "workspace.ownership_transferred", actor: actor,
                             target: Presenters.target([("from_user_id", .number(JSONNumber(callerID))),
                                                        ("to_user_id", .number(JSONNumber(newOwner)))]), now: now)
            if let updated = try writer.reader.member(id: member.id, workspaceID: workspaceID) {
                try writer.appendEvent(workspaceID: workspaceID, type: "member.role_changed",
                                       data: memberEvent(updated), now: now)
            }
            if let previous = try writer.reader.member(userID: callerID, workspaceID: workspaceID) {
                try writer.appendEvent(workspaceID: workspaceID, type: "member.role_changed",
                                       data: memberEvent(previous), now: now)
            }
            guard let row = try writer.reader.workspace(id: workspaceID, userID: callerID) else {
                throw APIError.crossTenant
            }
            return (row, try writer.reader.user(id: callerID)?.mainWorkspaceID)
        }
        return Respond.json { writer in Presenters.workspace(row, mainWorkspaceID: main, into: &writer) }
    }
}
