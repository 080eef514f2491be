import AtriumJSON
import Foundation
import Testing

/// Records over real sockets (api.md §6, §1): create, read, merge-patch, replace, delete,
/// ETag / If-Match, input validation, permissions, Idempotency-Key and usage counters.
@Suite struct RecordTests {
    // MARK: Create

    @Test func createReturnsTheRecordWithLocationAndETag() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "create")
        let response = try Rec.create(client, account.bearer,
                                      data: #"{"title":"hello","n":42,"ok":true,"none":null,"tags":["a","b"],"o":{"x":1.5}}"#)
        #expect(response.status == 201, "\(response.text)")
        let record = response.json
        let id = try #require(record["id"]?.int64Value, "\(response.text)")
        #expect(id > 0)
        #expect(record["workspace_id"]?.int64Value == account.mainWorkspaceID)
        #expect(record["collection"]?.stringValue == "items")
        #expect(record["data"] == Rec.json(#"{"title":"hello","n":42,"ok":true,"none":null,"tags":["a","b"],"o":{"x":1.5}}"#),
                "\(response.text)")
        #expect(record["version"]?.int64Value == 1)
        #expect(record["created_by"]?.int64Value == account.userID)
        #expect(Rec.isTimestamp(record["created_at"]), "\(response.text)")
        #expect(Rec.isTimestamp(record["updated_at"]), "\(response.text)")
        #expect(record["created_at"] == record["updated_at"])
        #expect(response.header("ETag") == "\"1\"")
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(response.header("X-Workspace-ID") == String(account.mainWorkspaceID))
        let location = try #require(response.header("Location"), "no Location header")
        #expect(location.hasSuffix("/v1/records/\(id)"), "Location \(location)")

        // The Location names the record; reading it gives the same object.
        let path = location.hasPrefix("http") ? Rec.recordPath(id) : location
        let read = try client.request("GET", path, headers: [account.bearer])
        #expect(read.status == 200)
        #expect(read.json == record, "\(read.text) vs \(response.text)")
        #expect(read.header("ETag") == "\"1\"")
    }

    @Test func fieldsAClientMayNotSetAreIgnored() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "ignored")
        let other = try client.createWorkspace(account, name: "Other")
        let response = try client.request(
            "POST", Rec.collectionPath(), headers: [account.bearer],
            body: #"{"id":777,"workspace_id":\#(other),"version":9,"created_by":12345,"collection":"zzz","data":{"a":1},"extra":true}"#)
        #expect(response.status == 201, "\(response.text)")
        #expect(response.json["id"]?.int64Value != 777)
        #expect(response.json["workspace_id"]?.int64Value == account.mainWorkspaceID)
        #expect(response.json["version"]?.int64Value == 1)
        #expect(response.json["created_by"]?.int64Value == account.userID)
        #expect(response.json["collection"]?.stringValue == "items")
        #expect(try Rec.recordCount(client, account, other) == 0)
    }

    @Test func createInANamedWorkspace() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "named")
        let second = try client.createWorkspace(account, name: "Second")
        let response = try Rec.create(client, account.bearer, data: #"{"w":2}"#, headers: [Rec.ws(second)])
        #expect(response.status == 201, "\(response.text)")
        #expect(response.json["workspace_id"]?.int64Value == second)
        #expect(response.header("X-Workspace-ID") == String(second))
        let viaQuery = try client.request("POST", Rec.collectionPath() + "?workspace_id=\(second)",
                                          headers: [account.bearer], body: Rec.body(#"{"w":3}"#))
        #expect(viaQuery.status == 201, "\(viaQuery.text)")
        #expect(viaQuery.json["workspace_id"]?.int64Value == second)
        #expect(try Rec.recordCount(client, account, second) == 2)
        #expect(try Rec.recordCount(client, account, account.mainWorkspaceID) == 0)
    }

    static let validCollections = ["a", "items", "a1", "z_9_", "snake_case_name", "a" + String(repeating: "b", count: 63)]

    @Test(arguments: validCollections)
    func validCollectionNames(name: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "valid")
        let response = try Rec.create(client, account.bearer, collection: name, data: #"{"k":"v"}"#)
        #expect(response.status == 201, "\(name): \(response.text)")
        #expect(response.json["collection"]?.stringValue == name)
        let list = try Rec.list(client, account.bearer, collection: name)
        #expect(list.status == 200, "\(list.text)")
        #expect(Rec.ids(list) == [response.json["id"]?.int64Value ?? -1])
        // Collections are separate.
        let other = try Rec.list(client, account.bearer, collection: name == "items" ? "other" : "items")
        #expect(other.status == 200)
        #expect(Rec.ids(other).isEmpty)
    }

    /// Path segments as sent on the wire.
    static let invalidCollections = ["Items", "1a", "a-b", "a" + String(repeating: "b", count: 64), "%20", "_a", "a%20b",
                                     "a.b", "ITEMS", "%C3%A9t%C3%A9", "a%2Fb", "%00"]

    @Test(arguments: invalidCollections)
    func invalidCollectionNamesAreRejected(name: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "invalid")
        let create = try client.request("POST", "/v1/collections/\(name)/records", headers: [account.bearer],
                                        body: Rec.body(#"{"k":"v"}"#))
        Rec.expectError(create, 400, "INVALID_PARAMETER", "POST collection \(name)")
        let list = try client.request("GET", "/v1/collections/\(name)/records", headers: [account.bearer])
        Rec.expectError(list, 400, "INVALID_PARAMETER", "GET collection \(name)")
        #expect(try Rec.recordCount(client, account, account.mainWorkspaceID) == 0, "something was written for \(name)")
    }

    static let notAnObjectData = [#"{}"#, #"{"data":null}"#, #"{"data":"text"}"#, #"{"data":[1,2]}"#, #"{"data":[]}"#,
                                  #"{"data":42}"#, #"{"data":true}"#, #"{"other":{"a":1}}"#, #"{"Data":{"a":1}}"#]

    @Test(arguments: notAnObjectData)
    func dataMustBeAnObject(body: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "data")
        let response = try client.request("POST", Rec.collectionPath(), headers: [account.bearer], body: body)
        Rec.expectError(response, 400, "VALIDATION_FAILED", body)
        let fields = (response.json["error"]?["details"]?.arrayValue ?? []).compactMap { $0["field"]?.stringValue }
        #expect(fields.contains("data"), "details \(response.text)")
        #expect(try Rec.recordCount(client, account, account.mainWorkspaceID) == 0)
    }

    static let invalidJSONBodies = [
        "not json", #"{"data":"#, #"{"data":{"a":1}"#, #"{"data":{'a':1}}"#, #"{"data":{"a":1,}}"#, "[1,2]", #""data""#,
        "null", "42", #"{"data":{"a":1,"a":2}}"#, #"{"data":{"a":1},"data":{"b":2}}"#, #"{"data":{"n":{"x":1,"x":1}}}"#,
        #"{"data":{"a":NaN}}"#, #"{"data":{"a":01}}"#,
    ]

    @Test(arguments: invalidJSONBodies)
    func invalidJSONIsRejected(body: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "badjson")
        let response = try client.request("POST", Rec.collectionPath(), headers: [account.bearer], body: body)
        Rec.expectError(response, 400, "INVALID_JSON", body)
        #expect(try Rec.recordCount(client, account, account.mainWorkspaceID) == 0)

        // The same on PATCH and PUT, and the record stays as it was.
        let id = try Rec.createID(client, account.bearer, data: #"{"keep":1}"#)
        for method in ["PATCH", "PUT"] {
            let change = try client.request(method, Rec.recordPath(id), headers: [account.bearer], body: body)
            Rec.expectError(change, 400, "INVALID_JSON", "\(method) \(body)")
        }
        let read = try Rec.get(client, account.bearer, id)
        #expect(read.json["version"]?.int64Value == 1)
        #expect(read.json["data"] == Rec.json(#"{"keep":1}"#))
    }

    @Test func dataOver64KiBIsTooLarge() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "large")
        // `{"s":"…"}` serializes to 8 + n bytes.
        let limit = 64 * 1024
        let atLimit = #"{"s":"\#(String(repeating: "x", count: limit - 8))"}"#
        let overLimit = #"{"s":"\#(String(repeating: "x", count: limit - 7))"}"#
        let accepted = try Rec.create(client, account.bearer, data: atLimit)
        #expect(accepted.status == 201, "exactly 64 KiB: \(accepted.text.prefix(200))")
        let refused = try Rec.create(client, account.bearer, data: overLimit)
        Rec.expectError(refused, 413, "PAYLOAD_TOO_LARGE", "64 KiB + 1")
        let huge = try Rec.create(client, account.bearer, data: #"{"s":"\#(String(repeating: "y", count: 200_000))"}"#)
        Rec.expectError(huge, 413, "PAYLOAD_TOO_LARGE", "200 kB")
        #expect(try Rec.recordCount(client, account, account.mainWorkspaceID) == 1)

        // PUT over the limit, and a PATCH that grows the document over it, leave the record unchanged.
        let id = try Rec.createID(client, account.bearer, data: #"{"s":"small"}"#)
        let put = try client.request("PUT", Rec.recordPath(id), headers: [account.bearer], body: Rec.body(overLimit))
        Rec.expectError(put, 413, "PAYLOAD_TOO_LARGE", "PUT")
        let half = String(repeating: "z", count: limit / 2)
        let first = try client.request("PATCH", Rec.recordPath(id), headers: [account.bearer],
                                       body: Rec.body(#"{"a":"\#(half)"}"#))
        #expect(first.status == 200, "\(first.text.prefix(200))")
        let grow = try client.request("PATCH", Rec.recordPath(id), headers: [account.bearer],
                                      body: Rec.body(#"{"b":"\#(half)"}"#))
        Rec.expectError(grow, 413, "PAYLOAD_TOO_LARGE", "PATCH growing past 64 KiB")
        let read = try Rec.get(client, account.bearer, id)
        #expect(read.json["version"]?.int64Value == 2)
        #expect(read.json["data"]?["b"] == nil)
        #expect(read.json["data"]?["s"]?.stringValue == "small")
    }

    static let wrongContentTypes: [String?] = [nil, "text/plain", "application/x-www-form-urlencoded", "application/xml",
                                               "text/json", "multipart/form-data; boundary=x"]

    @Test(arguments: wrongContentTypes)
    func wrongContentTypeIsUnsupported(contentType: String?) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "ctype")
        var headers = [account.bearer]
        if let contentType { headers.append(("Content-Type", contentType)) }
        let body = Rec.body(#"{"a":1}"#)
        let response = try client.request("POST", Rec.collectionPath(), headers: headers, body: body, json: false)
        Rec.expectError(response, 415, "UNSUPPORTED_MEDIA_TYPE", contentType ?? "no Content-Type")
        #expect(try Rec.recordCount(client, account, account.mainWorkspaceID) == 0)

        let id = try Rec.createID(client, account.bearer, data: #"{"a":0}"#)
        for method in ["PATCH", "PUT"] {
            let change = try client.request(method, Rec.recordPath(id), headers: headers, body: body, json: false)
            Rec.expectError(change, 415, "UNSUPPORTED_MEDIA_TYPE", "\(method) \(contentType ?? "none")")
        }
        #expect(try Rec.get(client, account.bearer, id).json["data"] == Rec.json(#"{"a":0}"#))
    }

    @Test func jsonContentTypeWithParametersIsAccepted() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "ctparam")
        for contentType in ["application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8"] {
            let response = try client.request("POST", Rec.collectionPath(),
                                              headers: [account.bearer, ("Content-Type", contentType)],
                                              body: Rec.body(#"{"a":1}"#), json: false)
            #expect(response.status == 201, "\(contentType): \(response.text)")
        }
    }

    @Test func viewerCanReadButNotWrite() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try Rec.signUp(client, tag: "owner")
        let viewer = try Rec.signUp(client, tag: "viewer")
        let editor = try Rec.signUp(client, tag: "editor")
        let shared = try client.createWorkspace(owner, name: "Shared")
        try Rec.addMember(client, owner: owner, workspace: shared, invitee: viewer, role: "viewer")
        try Rec.addMember(client, owner: owner, workspace: shared, invitee: editor, role: "editor")
        let id = try Rec.createID(client, owner.bearer, data: #"{"v":1}"#, workspace: shared)
        let viewerKey = try Rec.accountKey(client, viewer, mode: "full")

        for (label, credential) in [("viewer JWT", viewer.bearer), ("viewer full key", Rec.bearer(viewerKey))] {
            let create = try Rec.create(client, credential, data: #"{"v":"viewer"}"#, headers: [Rec.ws(shared)])
            Rec.expectError(create, 403, "PERMISSION_DENIED", "\(label) create")
            let read = try Rec.get(client, credential, id)
            #expect(read.status == 200, "\(label) read: \(read.text)")
            let list = try Rec.list(client, credential, headers: [Rec.ws(shared)])
            #expect(list.status == 200)
            #expect(Rec.ids(list) == [id])
            let patch = try client.request("PATCH", Rec.recordPath(id), headers: [credential], body: Rec.body(#"{"v":2}"#))
            Rec.expectError(patch, 403, "PERMISSION_DENIED", "\(label) patch")
            let put = try client.request("PUT", Rec.recordPath(id), headers: [credential], body: Rec.body(#"{"v":3}"#))
            Rec.expectError(put, 403, "PERMISSION_DENIED", "\(label) put")
            let delete = try client.request("DELETE", Rec.recordPath(id), headers: [credential])
            Rec.expectError(delete, 403, "PERMISSION_DENIED", "\(label) delete")
        }
        let after = try Rec.get(client, owner.bearer, id)
        #expect(after.status == 200)
        #expect(after.json["version"]?.int64Value == 1)
        #expect(after.json["data"] == Rec.json(#"{"v":1}"#))
        #expect(try Rec.recordCount(client, owner, shared) == 1)

        // An editor may write.
        let byEditor = try Rec.create(client, editor.bearer, data: #"{"v":"editor"}"#, headers: [Rec.ws(shared)])
        #expect(byEditor.status == 201, "\(byEditor.text)")
        #expect(byEditor.json["created_by"]?.int64Value == editor.userID)
        let patched = try client.request("PATCH", Rec.recordPath(id), headers: [editor.bearer], body: Rec.body(#"{"e":1}"#))
        #expect(patched.status == 200, "\(patched.text)")
    }

    // MARK: Read, update, delete

    @Test func mergePatchReplaceAndDelete() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "life")
        let created = try Rec.create(client, account.bearer,
                                     data: #"{"a":1,"gone":"z","nested":{"x":1,"y":2,"deep":{"k":"v"}},"list":[1,2,3]}"#)
        let id = try #require(created.json["id"]?.int64Value)

        let read = try Rec.get(client, account.bearer, id)
        #expect(read.status == 200)
        #expect(read.header("ETag") == "\"1\"")
        #expect(read.header("X-Workspace-ID") == String(account.mainWorkspaceID))

        // RFC 7396: null removes, objects merge recursively, arrays and scalars replace.
        let patch = try client.request(
            "PATCH", Rec.recordPath(id), headers: [account.bearer],
            body: Rec.body(#"{"a":2,"gone":null,"nested":{"y":null,"z":3,"deep":{"k2":"v2"}},"list":[9],"added":{"n":null}}"#))
        #expect(patch.status == 200, "\(patch.text)")
        #expect(patch.json["data"] == Rec.json(
            #"{"a":2,"nested":{"x":1,"z":3,"deep":{"k":"v","k2":"v2"}},"list":[9],"added":{}}"#), "\(patch.text)")
        #expect(patch.json["version"]?.int64Value == 2)
        #expect(patch.header("ETag") == "\"2\"")
        // The row's workspace, resolved inside the write, is named on the answer.
        #expect(patch.header("X-Workspace-ID") == String(account.mainWorkspaceID))
        #expect(patch.json["id"]?.int64Value == id)
        #expect(patch.json["created_at"] == created.json["created_at"])
        #expect((patch.json["updated_at"]?.stringValue ?? "") >= (created.json["updated_at"]?.stringValue ?? "~"))
        #expect(patch.json["created_by"]?.int64Value == account.userID)

        // Removing a missing key, and an empty patch, are fine.
        let noop = try client.request("PATCH", Rec.recordPath(id), headers: [account.bearer],
                                      body: Rec.body(#"{"never_there":null}"#))
        #expect(noop.status == 200)
        #expect(noop.json["data"] == patch.json["data"])
        #expect(noop.header("ETag") == "\"\(noop.json["version"]?.int64Value ?? -1)\"")

        let put = try client.request("PUT", Rec.recordPath(id), headers: [account.bearer],
                                     body: Rec.body(#"{"only":true}"#))
        #expect(put.status == 200, "\(put.text)")
        #expect(put.json["data"] == Rec.json(#"{"only":true}"#), "\(put.text)")
        let putVersion = try #require(put.json["version"]?.int64Value)
        #expect(putVersion == (noop.json["version"]?.int64Value ?? 0) + 1)
        #expect(put.header("ETag") == "\"\(putVersion)\"")
        #expect(put.header("X-Workspace-ID") == String(account.mainWorkspaceID))

        let again = try Rec.get(client, account.bearer, id)
        #expect(again.json == put.json, "\(again.text)")
        #expect(again.header("ETag") == "\"\(putVersion)\"")

        let delete = try client.request("DELETE", Rec.recordPath(id), headers: [account.bearer])
        #expect(delete.status == 204)
        #expect(delete.body.isEmpty)
        #expect(delete.header("X-Workspace-ID") == String(account.mainWorkspaceID))
        Rec.expectError(try Rec.get(client, account.bearer, id), 404, "NOT_FOUND", "GET after delete")
        let patchGone = try client.request("PATCH", Rec.recordPath(id), headers: [account.bearer], body: Rec.body("{}"))
        Rec.expectError(patchGone, 404, "NOT_FOUND", "PATCH after delete")
        #expect(patchGone.header("X-Workspace-ID") == nil)
        Rec.expectError(try client.request("PUT", Rec.recordPath(id), headers: [account.bearer], body: Rec.body("{}")),
                        404, "NOT_FOUND", "PUT after delete")
        Rec.expectError(try client.request("DELETE", Rec.recordPath(id), headers: [account.bearer]),
                        404, "NOT_FOUND", "DELETE after delete")
        #expect(Rec.ids(try Rec.list(client, account.bearer)).isEmpty)
    }

    @Test func patchAndPutValidateData() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "pval")
        let id = try Rec.createID(client, account.bearer, data: #"{"a":1}"#)
        for method in ["PATCH", "PUT"] {
            for body in [#"{}"#, #"{"data":[1]}"#, #"{"data":"x"}"#, #"{"data":5}"#] {
                let response = try client.request(method, Rec.recordPath(id), headers: [account.bearer], body: body)
                Rec.expectError(response, 400, "VALIDATION_FAILED", "\(method) \(body)")
            }
        }
        let read = try Rec.get(client, account.bearer, id)
        #expect(read.json["version"]?.int64Value == 1)
        #expect(read.json["data"] == Rec.json(#"{"a":1}"#))
    }

    @Test func ifMatchGuardsUpdatesAndDeletes() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "ifmatch")
        let id = try Rec.createID(client, account.bearer, data: #"{"n":1}"#)

        let first = try client.request("PATCH", Rec.recordPath(id), headers: [account.bearer, ("If-Match", "\"1\"")],
                                       body: Rec.body(#"{"n":2}"#))
        #expect(first.status == 200, "\(first.text)")
        #expect(first.json["version"]?.int64Value == 2)
        #expect(first.header("ETag") == "\"2\"")

        // A stale version: nothing changes.
        let stale = try client.request("PATCH", Rec.recordPath(id), headers: [account.bearer, ("If-Match", "\"1\"")],
                                       body: Rec.body(#"{"n":99}"#))
        Rec.expectError(stale, 412, "PRECONDITION_FAILED", "stale PATCH")
        let stalePut = try client.request("PUT", Rec.recordPath(id), headers: [account.bearer, ("If-Match", "\"5\"")],
                                          body: Rec.body(#"{"replaced":true}"#))
        Rec.expectError(stalePut, 412, "PRECONDITION_FAILED", "stale PUT")
        let staleDelete = try client.request("DELETE", Rec.recordPath(id), headers: [account.bearer, ("If-Match", "\"9\"")])
        Rec.expectError(staleDelete, 412, "PRECONDITION_FAILED", "stale DELETE")
        var read = try Rec.get(client, account.bearer, id)
        #expect(read.status == 200)
        #expect(read.json["version"]?.int64Value == 2)
        #expect(read.json["data"] == Rec.json(#"{"n":2}"#))
        #expect(read.header("ETag") == "\"2\"")

        let put = try client.request("PUT", Rec.recordPath(id), headers: [account.bearer, ("If-Match", "\"2\"")],
                                     body: Rec.body(#"{"n":3}"#))
        #expect(put.status == 200, "\(put.text)")
        #expect(put.json["version"]?.int64Value == 3)
        #expect(put.header("ETag") == "\"3\"")

        let delete = try client.request("DELETE", Rec.recordPath(id), headers: [account.bearer, ("If-Match", "\"3\"")])
        #expect(delete.status == 204, "\(delete.text)")
        read = try Rec.get(client, account.bearer, id)
        Rec.expectError(read, 404, "NOT_FOUND", "after If-Match delete")
    }

    @Test func concurrentIfMatchUpdatesLetExactlyOneWin() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "race")
        let id = try Rec.createID(client, account.bearer, data: #"{"winner":null}"#)
        let statuses = RecordBag<Int>()
        let port = server.port
        let token = account.accessToken
        recordThreads(6) { index in
            guard let own = try? HTTPTestClient(port: port),
                  let response = try? own.request("PATCH", Rec.recordPath(id),
                                                  headers: [Rec.bearer(token), ("If-Match", "\"1\"")],
                                                  body: Rec.body(#"{"winner":\#(index)}"#)) else {
                statuses.append(-1)
                return
            }
            statuses.append(response.status)
        }
        let all = statuses.all
        #expect(all.filter { $0 == 200 }.count == 1, "\(all)")
        #expect(all.filter { $0 == 412 }.count == 5, "\(all)")
        let read = try Rec.get(client, account.bearer, id)
        #expect(read.json["version"]?.int64Value == 2)
    }

    static let badIDs = ["abc", "0", "-1", "1.5", "1e3", "0x10", "%201", "99999999999999999999", "+5"]

    @Test(arguments: badIDs)
    func malformedRecordIDsAreInvalidParameters(id: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "badid")
        let existing = try Rec.createID(client, account.bearer, data: #"{"a":1}"#)
        Rec.expectError(try client.request("GET", "/v1/records/\(id)", headers: [account.bearer]),
                        400, "INVALID_PARAMETER", "GET \(id)")
        Rec.expectError(try client.request("PATCH", "/v1/records/\(id)", headers: [account.bearer],
                                           body: Rec.body(#"{"a":2}"#)), 400, "INVALID_PARAMETER", "PATCH \(id)")
        Rec.expectError(try client.request("PUT", "/v1/records/\(id)", headers: [account.bearer],
                                           body: Rec.body(#"{"a":3}"#)), 400, "INVALID_PARAMETER", "PUT \(id)")
        Rec.expectError(try client.request("DELETE", "/v1/records/\(id)", headers: [account.bearer]),
                        400, "INVALID_PARAMETER", "DELETE \(id)")
        let read = try Rec.get(client, account.bearer, existing)
        #expect(read.json["version"]?.int64Value == 1)
        #expect(try Rec.recordCount(client, account, account.mainWorkspaceID) == 1)
    }

    @Test func unknownRecordIDsAreNotFound() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "unknown")
        let existing = try Rec.createID(client, account.bearer, data: #"{"a":1}"#)
        for id in [existing + 1, 999_999, Int64.max] {
            Rec.expectError(try Rec.get(client, account.bearer, id), 404, "NOT_FOUND", "GET \(id)")
            Rec.expectError(try client.request("PATCH", Rec.recordPath(id), headers: [account.bearer],
                                               body: Rec.body(#"{"a":2}"#)), 404, "NOT_FOUND", "PATCH \(id)")
            Rec.expectError(try client.request("PUT", Rec.recordPath(id), headers: [account.bearer],
                                               body: Rec.body(#"{"a":2}"#)), 404, "NOT_FOUND", "PUT \(id)")
            Rec.expectError(try client.request("DELETE", Rec.recordPath(id), headers: [account.bearer]),
                            404, "NOT_FOUND", "DELETE \(id)")
        }
        #expect(try Rec.recordCount(client, account, account.mainWorkspaceID) == 1)
    }

    // MARK: Idempotency-Key

    @Test func idempotentRetryReturnsTheFirstResponse() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "idem")
        let key = ("Idempotency-Key", "order-\(UUID().uuidString)")
        let data = #"{"order":17,"items":["a","b"]}"#
        let first = try Rec.create(client, account.bearer, data: data, headers: [key])
        #expect(first.status == 201, "\(first.text)")
        let id = try #require(first.json["id"]?.int64Value)
        for _ in 0..<3 {
            let retry = try Rec.create(client, account.bearer, data: data, headers: [key])
            #expect(retry.status == 201, "\(retry.text)")
            #expect(retry.json["id"]?.int64Value == id)
            #expect(retry.json == first.json, "\(retry.text) vs \(first.text)")
            #expect(retry.header("Location") == first.header("Location"))
        }
        // A retry on a fresh connection is the same.
        let fresh = try server.client()
        let retry = try Rec.create(fresh, account.bearer, data: data, headers: [key])
        #expect(retry.status == 201)
        #expect(retry.json == first.json)
        #expect(Rec.ids(try Rec.list(client, account.bearer)) == [id])
        #expect(try Rec.recordCount(client, account, account.mainWorkspaceID) == 1)

        // Without the key, the same body is a new record.
        let unkeyed = try Rec.create(client, account.bearer, data: data)
        #expect(unkeyed.status == 201)
        #expect(unkeyed.json["id"]?.int64Value != id)
    }

    @Test func sameKeyWithAnotherBodyConflicts() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "idemconf")
        let key = ("Idempotency-Key", "k-\(UUID().uuidString)")
        let first = try Rec.create(client, account.bearer, data: #"{"amount":100}"#, headers: [key])
        #expect(first.status == 201)
        let id = try #require(first.json["id"]?.int64Value)
        for other in [#"{"amount":101}"#, #"{"amount":100,"x":1}"#, #"{}"#] {
            let conflict = try Rec.create(client, account.bearer, data: other, headers: [key])
            Rec.expectError(conflict, 409, "IDEMPOTENCY_CONFLICT", other)
        }
        #expect(Rec.ids(try Rec.list(client, account.bearer)) == [id])
        // The original still replays.
        let replay = try Rec.create(client, account.bearer, data: #"{"amount":100}"#, headers: [key])
        #expect(replay.status == 201)
        #expect(replay.json["id"]?.int64Value == id)
        #expect(try Rec.recordCount(client, account, account.mainWorkspaceID) == 1)
    }

    @Test func idempotencyKeysAreScopedPerUserAndWorkspace() throws {
        let server = try TestServer()
        let client = try server.client()
        let alice = try Rec.signUp(client, tag: "idem-a")
        let bob = try Rec.signUp(client, tag: "idem-b")
        let aliceSecond = try client.createWorkspace(alice, name: "Second")
        let key = ("Idempotency-Key", "shared-key-1")
        let data = #"{"same":"body"}"#
        let a1 = try Rec.create(client, alice.bearer, data: data, headers: [key])
        #expect(a1.status == 201)
        let b1 = try Rec.create(client, bob.bearer, data: data, headers: [key])
        #expect(b1.status == 201, "\(b1.text)")
        #expect(b1.json["id"]?.int64Value != a1.json["id"]?.int64Value)
        #expect(b1.json["workspace_id"]?.int64Value == bob.mainWorkspaceID)
        #expect(b1.json["created_by"]?.int64Value == bob.userID)
        let a2 = try Rec.create(client, alice.bearer, data: data, headers: [key, Rec.ws(aliceSecond)])
        #expect(a2.status == 201, "\(a2.text)")
        #expect(a2.json["workspace_id"]?.int64Value == aliceSecond)
        #expect(a2.json["id"]?.int64Value != a1.json["id"]?.int64Value)
        // Another body under the same key in Bob's space does not conflict with Alice's.
        let b2 = try Rec.create(client, bob.bearer, data: #"{"other":1}"#, headers: [("Idempotency-Key", "shared-key-2")])
        #expect(b2.status == 201)
        let a3 = try Rec.create(client, alice.bearer, data: #"{"different":2}"#, headers: [("Idempotency-Key", "shared-key-2")])
        #expect(a3.status == 201, "\(a3.text)")

        // Each replays its own.
        let a1again = try Rec.create(client, alice.bearer, data: data, headers: [key])
        #expect(a1again.json["id"]?.int64Value == a1.json["id"]?.int64Value)
        #expect(!a1again.text.contains("\"created_by\":\(bob.userID),"))
        let b1again = try Rec.create(client, bob.bearer, data: data, headers: [key])
        #expect(b1again.json["id"]?.int64Value == b1.json["id"]?.int64Value)
        #expect(try Rec.recordCount(client, alice, alice.mainWorkspaceID) == 2)
        #expect(try Rec.recordCount(client, alice, aliceSecond) == 1)
        #expect(try Rec.recordCount(client, bob, bob.mainWorkspaceID) == 2)
    }

    @Test func concurrentRetriesWithOneKeyCreateOneRecord() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "idemrace")
        let port = server.port
        let token = account.accessToken
        for round in 0..<3 {
            let key = "race-\(round)-\(UUID().uuidString)"
            let results = RecordBag<(Int, Int64?)>()
            recordThreads(8) { _ in
                guard let own = try? HTTPTestClient(port: port),
                      let response = try? Rec.create(own, Rec.bearer(token), data: #"{"round":\#(round)}"#,
                                                     headers: [("Idempotency-Key", key)]) else {
                    results.append((-1, nil))
                    return
                }
                results.append((response.status, response.json["id"]?.int64Value))
            }
            let all = results.all
            #expect(all.allSatisfy { $0.0 == 201 }, "round \(round): \(all.map(\.0))")
            #expect(Set(all.compactMap(\.1)).count == 1, "round \(round): ids \(all.map(\.1))")
        }
        #expect(try Rec.recordCount(client, account, account.mainWorkspaceID) == 3)
        #expect(Rec.ids(try Rec.list(client, account.bearer)).count == 3)
    }

    // MARK: Usage

    @Test func usageCountsRecordsAndStorage() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "usage")
        let other = try client.createWorkspace(account, name: "Other")
        let start = try Rec.usage(client, account, account.mainWorkspaceID)
        #expect(start.records == 0)
        #expect(start.storage >= 0)

        let blob = String(repeating: "q", count: 5000)
        var ids: [Int64] = []
        for index in 0..<3 {
            ids.append(try Rec.createID(client, account.bearer, data: #"{"i":\#(index),"blob":"\#(blob)"}"#))
        }
        let afterCreate = try Rec.usage(client, account, account.mainWorkspaceID)
        #expect(afterCreate.records == 3)
        #expect(afterCreate.storage >= start.storage + 15000, "storage \(start.storage) → \(afterCreate.storage)")
        #expect(try Rec.usage(client, account, other).records == 0)

        let delete = try client.request("DELETE", Rec.recordPath(ids[0]), headers: [account.bearer])
        #expect(delete.status == 204)
        let afterDelete = try Rec.usage(client, account, account.mainWorkspaceID)
        #expect(afterDelete.records == 2)
        #expect(afterDelete.storage < afterCreate.storage, "storage \(afterCreate.storage) → \(afterDelete.storage)")
        #expect(afterDelete.storage >= start.storage + 10000)

        // Replacing a big document with a small one shrinks the storage.
        let put = try client.request("PUT", Rec.recordPath(ids[1]), headers: [account.bearer], body: Rec.body(#"{"i":1}"#))
        #expect(put.status == 200)
        let afterPut = try Rec.usage(client, account, account.mainWorkspaceID)
        #expect(afterPut.records == 2)
        #expect(afterPut.storage < afterDelete.storage)

        for id in ids.dropFirst() {
            #expect(try client.request("DELETE", Rec.recordPath(id), headers: [account.bearer]).status == 204)
        }
        let end = try Rec.usage(client, account, account.mainWorkspaceID)
        #expect(end.records == 0)
        #expect(end.storage == start.storage)
    }
}
