import AtriumAuth
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// The caller's own profile and workspaces (api.md §4).
enum MeEndpoints {
    static func all() -> [Endpoint] {
        [
            Endpoint(.get, "/v1/me", .account(.any, .read(me)), documentation: Docs.me),
            Endpoint(.patch, "/v1/me", .account(.session, .respond(updateMe)), documentation: Docs.updateMe),
            Endpoint(.get, "/v1/user/workspaces", .account(.session, .read(userWorkspaces)),
                     documentation: Docs.userWorkspaces),
            Endpoint(.get, "/v1/workspaces", .account(.any, .read(reachableWorkspaces)),
                     documentation: Docs.workspaces),
        ]
    }

    /// What the OpenAPI document says about each operation.
    enum Docs {
        static let me = EndpointDocumentation(
            "getMe", "The caller, the workspaces this credential reaches, and the credential", response: .ref("Me"))
        static let updateMe = EndpointDocumentation(
            "updateMe", "Change the caller's name or main workspace",
            errors: [.validationFailed, .invalidJSON, .crossTenantWorkspace], request: .ref("MeUpdate"),
            response: .ref("Me"))
        static let userWorkspaces = EndpointDocumentation(
            "listUserWorkspaces", "The caller's live workspaces", response: .page(of: .ref("Workspace")))
        static let workspaces = EndpointDocumentation(
            "listWorkspaces", "The live workspaces this credential reaches", response: .page(of: .ref("Workspace")))
    }

    /// The workspaces a credential reaches: a session or `full` key every membership; a
    /// `scoped` key those on its allow-list; a `workspace` key its one workspace.
    static func reachable(_ principal: Principal, reader: StoreReader) throws -> [WorkspaceRow] {
        let rows = try reader.workspaces(userID: principal.userID)
        guard let key = principal.apiKey else { return rows }
        return rows.filter { key.admits($0.id) }
    }

    static func me(_ request: AccountRequest, reader: StoreReader) throws -> HTTPResponse {
        let principal = request.principal
        guard let user = try reader.user(id: principal.userID) else { throw APIError.invalidToken }
        let key = request.keyRow
        let workspaces = try reachable(principal, reader: reader)
        return Respond.json(capacity: 256 + workspaces.count * 200) { writer in
            writeMe(user: user, workspaces: workspaces, key: key, into: &writer)
        }
    }

    static func writeMe(user: UserRow, workspaces: [WorkspaceRow], key: APIKeyRow?, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("user")
        Presenters.user(user, into: &writer)
        writer.key("workspaces")
        writer.beginArray()
        for workspace in workspaces {
            Presenters.workspace(workspace, mainWorkspaceID: user.mainWorkspaceID, into: &writer)
        }
        writer.endArray()
        writer.key("credential")
        writer.beginObject()
        writer.field("type", key == nil ? "jwt" : "api_key")
        if let key {
            writer.key("key")
            Presenters.apiKey(key, into: &writer)
        }
        writer.endObject()
        writer.endObject()
    }

    static func updateMe(_ request: AccountRequest) throws -> HTTPResponse {
        let principal = request.principal
        var body = try request.body()
        let name = body.string("name", required: false, minLength: 1, maxLength: 100, trim: true)
        let main = body.positiveInteger("main_workspace_id", required: false)
        try body.validate()
        let now = request.now
        let userID = principal.userID
        let (user, workspaces) = try request.services.store.write { writer in
            if let main {
                guard let row = try writer.reader.workspace(id: main, userID: userID), row.ownerID == userID else {
                    throw APIError.crossTenant
                }
                try writer.setMainWorkspace(userID: userID, workspaceID: main, now: now)
            }
            if let name { try writer.setUserName(userID: userID, name: name, now: now) }
            guard let user = try writer.reader.user(id: userID) else { throw APIError.invalidToken }
            return (user, try writer.reader.workspaces(userID: userID))
        }
        return Respond.json { writer in writeMe(user: user, workspaces: workspaces, key: nil, into: &writer) }
    }

    static func userWorkspaces(_ request: AccountRequest, reader: StoreReader) throws -> HTTPResponse {
        try listWorkspaces(request, reader: reader)
    }

    static func reachableWorkspaces(_ request: AccountRequest, reader: StoreReader) throws -> HTTPResponse {
        try listWorkspaces(request, reader: reader)
    }

    private static func listWorkspaces(_ request: AccountRequest, reader: StoreReader) throws -> HTTPResponse {
        let principal = request.principal
        guard let user = try reader.user(id: principal.userID) else { throw APIError.invalidToken }
        let workspaces = try reachable(principal, reader: reader)
        return Respond.json(capacity: 64 + workspaces.count * 200) { writer in
            Presenters.list(workspaces, into: &writer) {
                Presenters.workspace($0, mainWorkspaceID: user.mainWorkspaceID, into: &$1)
            }
        }
    }
}
