import AtriumClient
import Foundation
import Testing

/// The first program of docs/sdk.md and the README's walk-through in Swift, as written there
/// (only the base URL differs), so the documentation cannot rot.
@Suite struct DocExampleTests {
    @Test func theFirstProgramRuns() async throws {
        let server = try LiveServer()
        let base = server.baseURL
        // --- docs/sdk.md: first program ---
        // Sign up once (or log in: AtriumClient.login(baseURL:email:password:)).
        let (ada, _) = try await AtriumClient.signUp(baseURL: base, email: "ada@example.com",
                                                     password: "a long password", name: "Ada")
        let me = try await ada.me.getMe()
        print("hello,", me.user.name, "-", me.workspaces.count, "workspace(s)")

        // A second workspace, and a key that reaches only it (its secret is shown once).
        let acme = try await ada.workspaces.createWorkspace(WorkspaceCreate(name: "Acme"))
        let key = try await ada.apiKeys.createWorkspaceKey(workspace: acme.id, WorkspaceKeyCreate(name: "ci"))

        // Work in it with the key: records, pages, safe edits.
        let ci = AtriumClient(baseURL: base, apiKey: key.secret)
        let note = try await ci.records.create(in: "notes", data: ["title": "hello", "done": false])
        try await ci.records.modify(note.id) { data in data["done"] = true }
        for try await record in ci.records.list("notes", filter: ["done": "true"]) {
            print(record.id, record.workspaceId, record.data)
        }
        do {
            _ = try await ada.workspaces.getWorkspace(workspace: 999_999)
        } catch let error as AtriumError where error.code == .crossTenantWorkspace {
            print("not yours:", error.status, error.requestID ?? "")
        }
        // --- end ---
        let login = try await AtriumClient.login(baseURL: base, email: "ada@example.com", password: "a long password",
                                                 workspace: acme.id)
        let notes = try await login.records.list("notes").all()
        #expect(notes.map(\.id) == [note.id] && notes.first?.data["done"] == true)
        #expect(notes.first?.workspaceId == acme.id)
    }

    @Test func theReadmeWalkThroughRuns() async throws {
        let server = try LiveServer()
        let base = server.baseURL
        // --- README.md: the same walk-through in Swift ---

        // Sign up: creates the account and its main workspace; the client holds the session.
        let (signedUp, _) = try await AtriumClient.signUp(baseURL: base, email: "ada@example.com",
                                                          password: "a long password", name: "Ada")

        // Log in later (the client refreshes the access token itself, once for all concurrent calls).
        let ada = try await AtriumClient.login(baseURL: base, email: "ada@example.com", password: "a long password")

        // Who am I, and which workspaces can this credential reach?
        let me = try await ada.me.getMe()
        print(me.user.email, me.workspaces.map(\.name))

        // A second workspace, then an API key that can only reach it.
        let acme = try await ada.workspaces.createWorkspace(WorkspaceCreate(name: "Acme"))
        let key = try await ada.apiKeys.createWorkspaceKey(workspace: acme.id, WorkspaceKeyCreate(name: "ci"))
        print(key.secret)                                                 // shown once

        // Act in a workspace: a default for the client, or per call (omitted: your main workspace).
        let inAcme = ada.inWorkspace(acme.id)
        let note = try await inAcme.records.create(in: "notes", data: ["title": "hello"])
        let elsewhere = try await ada.records.create(in: "notes", data: ["title": "main"],
                                                     options: RequestOptions(workspace: .main))
        let workspace = try await ada.workspaces.getWorkspace(workspace: acme.id)   // the path names it
        print(note.workspaceId, elsewhere.workspaceId, workspace.name, signedUp.configuration.baseURL)
        // --- end ---
        #expect(note.workspaceId == acme.id && elsewhere.workspaceId == me.workspaces.first?.id)
        #expect(key.secret.hasPrefix("atr_") && workspace.name == "Acme")
    }
}
