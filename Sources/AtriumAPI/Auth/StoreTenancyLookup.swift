import AtriumAuth
import AtriumStore

/// Answers the resolver's questions from the store, inside the request's read snapshot.
struct StoreTenancyLookup: TenancyLookup {
    let reader: StoreReader

    func role(userID: Int64, workspaceID: Int64) throws -> Role? {
        try reader.role(userID: userID, workspaceID: workspaceID)
    }

    func mainWorkspace(userID: Int64) throws -> Int64? {
        try reader.mainWorkspace(userID: userID)
    }

    func memberships(userID: Int64) throws -> [(workspaceID: Int64, role: Role)] {
        try reader.memberships(userID: userID)
    }
}
