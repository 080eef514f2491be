import AtriumJSON
import Foundation
import Testing

/// Record lists over real sockets (api.md §1 lists, §6 records): newest first, limits and
/// cursors, filters, exactly-once pagination under concurrent inserts, and fan-out across
/// workspaces (`workspaces=all` / `workspaces=ID,ID`).
@Suite struct RecordPaginationTests {
    // MARK: Pages

    @Test func listIsNewestFirstWithDefaultLimit20() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "page")
        var created: [Int64] = []
        for index in 0..<25 { created.append(try Rec.createID(client, account.bearer, data: #"{"i":\#(index)}"#)) }
        let newestFirst = Array(created.reversed())

        let first = try Rec.list(client, account.bearer)
        #expect(first.status == 200, "\(first.text)")
        #expect(first.header("X-Workspace-ID") == String(account.mainWorkspaceID))
        #expect(Rec.ids(first) == Array(newestFirst.prefix(20)), "\(Rec.ids(first))")
        let cursor = try #require(Rec.nextCursor(first), "first page has no next_cursor: \(first.text.suffix(200))")
        // Every row is a full record.
        for row in first.json["data"]?.arrayValue ?? [] {
            #expect(row["workspace_id"]?.int64Value == account.mainWorkspaceID)
            #expect(row["collection"]?.stringValue == "items")
            #expect(row["version"]?.int64Value == 1)
            #expect(row["data"]?["i"] != nil)
            #expect(Rec.isTimestamp(row["created_at"]))
        }

        let second = try Rec.list(client, account.bearer, query: "cursor=\(Rec.encode(cursor))")
        #expect(second.status == 200, "\(second.text)")
        #expect(Rec.ids(second) == Array(newestFirst.suffix(5)))
        #expect(second.json["next_cursor"]?.isNull == true, "last page: \(second.text.suffix(100))")

        // limit=1 walks one by one; limit=100 returns everything at once.
        #expect(try Rec.listAllIDs(client, account.bearer, limit: 1) == newestFirst)
        let all = try Rec.list(client, account.bearer, query: "limit=100")
        #expect(Rec.ids(all) == newestFirst)
        #expect(all.json["next_cursor"]?.isNull == true)
        #expect(try Rec.listAllIDs(client, account.bearer, limit: 7) == newestFirst)
    }

    @Test func nextCursorIsNullOnTheLastPage() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "last")
        let empty = try Rec.list(client, account.bearer)
        #expect(empty.status == 200)
        #expect(empty.json["data"]?.arrayValue?.isEmpty == true, "\(empty.text)")
        #expect(empty.json["next_cursor"]?.isNull == true, "\(empty.text)")

        var ids: [Int64] = []
        for index in 0..<6 { ids.append(try Rec.createID(client, account.bearer, data: #"{"i":\#(index)}"#)) }
        // Exactly one full page.
        let exact = try Rec.list(client, account.bearer, query: "limit=6")
        #expect(Rec.ids(exact) == Array(ids.reversed()))
        #expect(exact.json["next_cursor"]?.isNull == true, "a page holding the last record: \(exact.text.suffix(100))")
        // Two full pages.
        let page1 = try Rec.list(client, account.bearer, query: "limit=3")
        let cursor = try #require(Rec.nextCursor(page1))
        let page2 = try Rec.list(client, account.bearer, query: "limit=3&cursor=\(Rec.encode(cursor))")
        #expect(Rec.ids(page2) == Array(ids.prefix(3).reversed()))
        #expect(page2.json["next_cursor"]?.isNull == true, "\(page2.text.suffix(100))")
    }

    static let badLimits = ["0", "101", "abc", "-1", "", "1.5", "1e2", "99999999999999999999", "%2010", "0x10"]

    @Test(arguments: badLimits)
    func badLimitIsInvalidParameter(limit: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "limit")
        try Rec.createID(client, account.bearer, data: #"{"a":1}"#)
        let response = try Rec.list(client, account.bearer, query: "limit=\(limit)")
        Rec.expectError(response, 400, "INVALID_PARAMETER", "limit=\(limit)")
        let fanOut = try Rec.list(client, account.bearer, query: "workspaces=all&limit=\(limit)")
        Rec.expectError(fanOut, 400, "INVALID_PARAMETER", "fan-out limit=\(limit)")
    }

    @Test func limitBoundsAreAccepted() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "bounds")
        for index in 0..<3 { try Rec.createID(client, account.bearer, data: #"{"i":\#(index)}"#) }
        let one = try Rec.list(client, account.bearer, query: "limit=1")
        #expect(one.status == 200)
        #expect(Rec.ids(one).count == 1)
        #expect(Rec.nextCursor(one) != nil)
        let hundred = try Rec.list(client, account.bearer, query: "limit=100")
        #expect(hundred.status == 200)
        #expect(Rec.ids(hundred).count == 3)
    }

    static let badCursors = ["not-a-cursor", "r", "%00", "''", "*", "%20"]

    @Test(arguments: badCursors)
    func badCursorIsInvalidParameter(cursor: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "cursor")
        for index in 0..<3 { try Rec.createID(client, account.bearer, data: #"{"i":\#(index)}"#) }
        let response = try Rec.list(client, account.bearer, query: "cursor=\(cursor)")
        Rec.expectError(response, 400, "INVALID_PARAMETER", "cursor=\(cursor)")
        let fanOut = try Rec.list(client, account.bearer, query: "workspaces=all&cursor=\(cursor)")
        Rec.expectError(fanOut, 400, "INVALID_PARAMETER", "fan-out cursor=\(cursor)")
    }

    @Test func tamperedCursorIsInvalidParameter() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "tamper")
        for index in 0..<3 { try Rec.createID(client, account.bearer, data: #"{"i":\#(index)}"#) }
        let page = try Rec.list(client, account.bearer, query: "limit=1")
        let cursor = try #require(Rec.nextCursor(page))
        for bad in ["!" + cursor, cursor + "%00", cursor + "*", cursor + "=="] {
            let response = try Rec.list(client, account.bearer, query: "limit=1&cursor=\(bad)")
            Rec.expectError(response, 400, "INVALID_PARAMETER", "cursor=\(bad)")
        }
    }

    // MARK: Filters

    /// `filter[x]` with the brackets percent-encoded, as RFC 3986 clients send them.
    static func encodeBrackets(_ query: String) -> String {
        query.replacingOccurrences(of: "[", with: "%5B").replacingOccurrences(of: "]", with: "%5D")
    }

    /// The contract spells the parameter `filter[<field>]`; browsers, `fetch` and most HTTP libraries send
    /// the brackets as they are, so the server must accept them unencoded too.
    @Test func filterBracketsMayBeSentUnencoded() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "rawbr")
        let hit = try Rec.createID(client, account.bearer, data: #"{"kind":"x"}"#)
        _ = try Rec.createID(client, account.bearer, data: #"{"kind":"y"}"#)
        let response = try Rec.list(client, account.bearer, query: "filter[kind]=x")
        #expect(response.status == 200, "GET ...?filter[kind]=x → \(response.status) \(response.text)")
        #expect(Rec.ids(response) == [hit])
    }

    /// A parameter whose percent-encoding is not UTF-8 is a bad parameter, never silently dropped (a
    /// dropped filter returns records the caller did not ask for; a dropped `workspace_id` resolves to main).
    @Test(arguments: [("limit=%FF", "INVALID_PARAMETER"), ("cursor=%FF%FE%FD", "INVALID_PARAMETER"),
                      ("filter%5Bkind%5D=%FF", "INVALID_PARAMETER"), ("filter%5Bkind%5D=%C3", "INVALID_PARAMETER"),
                      ("workspace_id=%FF", "INVALID_WORKSPACE_ID")])
    func undecodableQueryParametersAreRejected(query: String, code: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "undecodable")
        _ = try Rec.createID(client, account.bearer, data: #"{"kind":"x"}"#)
        let response = try Rec.list(client, account.bearer, query: query)
        Rec.expectError(response, 400, code, query)
        #expect(Rec.ids(response).isEmpty, "\(query) listed records: \(response.text.prefix(200))")
    }

    /// `workspaces=` names workspace ids: a malformed one is a 400, not a silent fallback.
    @Test(arguments: ["abc", "0", "-1", "007", "1,,2", "1.0", "%FF", "", ",", "1,abc"])
    func malformedFanOutListIsRejected(list: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "fanbad")
        _ = try Rec.createID(client, account.bearer, data: #"{"a":1}"#)
        let query = "workspaces=" + list.replacingOccurrences(of: "1", with: String(account.mainWorkspaceID))
        let response = try Rec.list(client, account.bearer, query: query)
        #expect(response.status == 400, "\(query) → \(response.status) \(response.text.prefix(200))")
        #expect(["INVALID_WORKSPACE_ID", "INVALID_PARAMETER"].contains(response.errorCode ?? ""),
                "\(query) → \(response.text.prefix(200))")
        #expect(Rec.ids(response).isEmpty)
    }

    @Test func filtersMatchTopLevelFieldsByEquality() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "filter")
        func make(_ data: String) throws -> Int64 { try Rec.createID(client, account.bearer, data: data) }
        let s1 = try make(#"{"kind":"x","n":1,"b":true,"z":null,"tag":"hello world"}"#)
        let s2 = try make(#"{"kind":"x","n":2,"b":false,"tag":"é&=?"}"#)
        let s3 = try make(#"{"kind":"y","n":1,"b":true,"z":"null"}"#)
        let s4 = try make(#"{"kind":"x","n":"1","b":"true"}"#)
        let s5 = try make(#"{"kind":"x","n":1.5,"nested":{"kind":"x"},"arr":[1]}"#)
        let s6 = try make(#"{"other":"x"}"#)
        _ = s6

        func filtered(_ query: String) throws -> [Int64] {
            let response = try Rec.list(client, account.bearer, query: Self.encodeBrackets(query))
            #expect(response.status == 200, "\(query): \(response.text)")
            return Rec.ids(response)
        }
        // Strings.
        #expect(try filtered("filter[kind]=x") == [s5, s4, s2, s1])
        #expect(try filtered("filter%5Bkind%5D=y") == [s3])
        #expect(try filtered("filter[tag]=hello%20world") == [s1])
        #expect(try filtered("filter[tag]=hello+world") == [s1], "`+` in a query is a space")
        #expect(try filtered("filter[tag]=\(Rec.encode("é&=?"))") == [s2])
        #expect(try filtered("filter[kind]=X").isEmpty, "matching is exact")
        // Numbers: a number whose JSON text equals the value, or a string equal to it.
        #expect(try filtered("filter[n]=1") == [s4, s3, s1])
        #expect(try filtered("filter[n]=2") == [s2])
        #expect(try filtered("filter[n]=1.5") == [s5])
        #expect(try filtered("filter[n]=1.0").isEmpty)
        // Booleans.
        #expect(try filtered("filter[b]=true") == [s4, s3, s1])
        #expect(try filtered("filter[b]=false") == [s2])
        // null: only a present null (or the string "null"), not a missing field.
        #expect(try filtered("filter[z]=null") == [s3, s1])
        // Only top-level fields; objects and arrays never match.
        #expect(try filtered("filter[nested]=x").isEmpty)
        #expect(try filtered("filter[arr]=1").isEmpty)
        #expect(try filtered("filter[missing]=x").isEmpty)
        // Several filters must all match.
        #expect(try filtered("filter[kind]=x&filter[n]=1") == [s4, s1])
        #expect(try filtered("filter[kind]=x&filter[n]=1&filter[b]=true") == [s4, s1])
        #expect(try filtered("filter[kind]=x&filter[b]=true&filter[z]=null") == [s1])
        #expect(try filtered("filter[kind]=y&filter[n]=2").isEmpty)
        // Filters work across pages.
        #expect(try Rec.listAllIDs(client, account.bearer, query: "filter%5Bkind%5D=x", limit: 1) == [s5, s4, s2, s1])
        #expect(try Rec.listAllIDs(client, account.bearer, query: "filter%5Bn%5D=1", limit: 2) == [s4, s3, s1])
    }

    @Test func filtersApplyToFanOut() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "ffan")
        let second = try client.createWorkspace(account, name: "Second")
        let a = try Rec.createID(client, account.bearer, data: #"{"k":"hit"}"#)
        _ = try Rec.createID(client, account.bearer, data: #"{"k":"miss"}"#, workspace: second)
        let b = try Rec.createID(client, account.bearer, data: #"{"k":"hit"}"#, workspace: second)
        let response = try Rec.list(client, account.bearer, query: "workspaces=all&filter%5Bk%5D=hit")
        #expect(response.status == 200, "\(response.text)")
        #expect(Rec.ids(response) == [b, a])
    }

    // MARK: Exactly-once pagination

    @Test func paginationIsExactlyOnceUnderConcurrentInserts() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try Rec.signUp(client, tag: "walk")
        var existing: [Int64] = []
        for index in 0..<60 { existing.append(try Rec.createID(client, account.bearer, data: #"{"seed":\#(index)}"#)) }
        let existingSet = Set(existing)

        let stop = RecordStopFlag()
        let inserted = RecordBag<Int64>()
        let writerDone = DispatchSemaphore(value: 0)
        let port = server.port
        let token = account.accessToken
        Thread.detachNewThread {
            defer { writerDone.signal() }
            guard let writer = try? HTTPTestClient(port: port) else { return }
            var index = 0
            while !stop.isSet && index < 2000 {
                if let response = try? Rec.create(writer, Rec.bearer(token), data: #"{"concurrent":\#(index)}"#),
                   let id = response.json["id"]?.int64Value {
                    inserted.append(id)
                }
                index += 1
            }
        }
        defer {
            stop.set()
            writerDone.wait()
        }

        // Make sure the writer is running before the walk starts.
        let deadline = Date().addingTimeInterval(10)
        while inserted.all.isEmpty && Date() < deadline { usleep(1000) }

        var seen: [Int64] = []
        var cursor: String?
        var pages = 0
        repeat {
            var query = "limit=7"
            if let cursor { query += "&cursor=\(Rec.encode(cursor))" }
            let page = try Rec.list(client, account.bearer, query: query)
            #expect(page.status == 200, "\(page.text)")
            seen += Rec.ids(page)
            cursor = Rec.nextCursor(page)
            pages += 1
            usleep(2000)
        } while cursor != nil && pages < 500
        stop.set()

        #expect(!inserted.all.isEmpty, "the concurrent writer never inserted")
        #expect(Set(seen).count == seen.count, "duplicates: \(seen)")
        let missing = existingSet.subtracting(seen)
        #expect(missing.isEmpty, "records that existed at the start but were not listed: \(missing.sorted())")
        #expect(seen == seen.sorted(by: >), "not newest first across pages: \(seen)")
        let unknown = Set(seen).subtracting(existingSet).subtracting(inserted.all)
        #expect(unknown.isEmpty, "unknown ids \(unknown)")
    }

    // MARK: Fan-out

    /// One user with four workspaces and records created in them in a mixed order.
    struct FanOutWorld {
        let account: TestAccount
        let workspaces: [Int64]
        /// Record id → workspace id.
        let owner: [Int64: Int64]

        func naive(_ subset: [Int64]) -> [Int64] {
            owner.filter { subset.contains($0.value) }.map(\.key).sorted(by: >)
        }
    }

    static func makeFanOutWorld(_ client: HTTPTestClient, tag: String, records: Int = 36) throws -> FanOutWorld {
        let account = try Rec.signUp(client, tag: tag)
        var workspaces = [account.mainWorkspaceID]
        for name in ["Two", "Three", "Four"] { workspaces.append(try client.createWorkspace(account, name: name)) }
        var owner: [Int64: Int64] = [:]
        var generator = RecordSeededGenerator(seed: 42)
        for index in 0..<records {
            let workspace = workspaces[Int(generator.next() % UInt64(workspaces.count))]
            let id = try Rec.createID(client, account.bearer, data: #"{"i":\#(index),"ws":\#(workspace)}"#,
                                      workspace: workspace)
            owner[id] = workspace
        }
        return FanOutWorld(account: account, workspaces: workspaces, owner: owner)
    }

    /// Checks a fan-out walk against the naive union of per-workspace lists.
    static func expectFanOut(_ client: HTTPTestClient, _ credential: (String, String), query: String,
                             expected: [Int64], owner: [Int64: Int64], limit: Int,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let rows = try Rec.listAll(client, credential, query: query, limit: limit)
        let ids = rows.compactMap { $0["id"]?.int64Value }
        #expect(ids == expected, "\(query) limit=\(limit): got \(ids), expected \(expected)", sourceLocation: sourceLocation)
        for row in rows {
            guard let id = row["id"]?.int64Value else { continue }
            #expect(row["workspace_id"]?.int64Value == owner[id], "row \(id) carries workspace \(row["workspace_id"].map { "\($0)" } ?? "nil")",
                    sourceLocation: sourceLocation)
            #expect(row["data"]?["ws"]?.int64Value == owner[id], sourceLocation: sourceLocation)
        }
    }

    @Test func fanOutMergesWorkspacesNewestFirst() throws {
        let server = try TestServer()
        let client = try server.client()
        let world = try Self.makeFanOutWorld(client, tag: "fan")
        let credential = world.account.bearer

        // The naive union, from per-workspace lists.
        var union: [Int64] = []
        var owner: [Int64: Int64] = [:]
        for workspace in world.workspaces {
            let ids = try Rec.listAllIDs(client, credential, headers: [Rec.ws(workspace)])
            #expect(Set(ids) == Set(world.owner.filter { $0.value == workspace }.keys))
            for id in ids { owner[id] = workspace }
            union += ids
        }
        union.sort(by: >)
        #expect(union == world.naive(world.workspaces))

        for limit in [100, 20, 7, 1] {
            try Self.expectFanOut(client, credential, query: "workspaces=all", expected: union, owner: owner, limit: limit)
        }
        let pair = [world.workspaces[1], world.workspaces[3]]
        for limit in [100, 5, 2] {
            try Self.expectFanOut(client, credential, query: "workspaces=\(pair[0]),\(pair[1])",
                                  expected: world.naive(pair), owner: owner, limit: limit)
            try Self.expectFanOut(client, credential, query: "workspaces=\(pair[1]),\(pair[0])",
                                  expected: world.naive(pair), owner: owner, limit: limit)
        }
        try Self.expectFanOut(client, credential, query: "workspaces=\(world.workspaces[2])",
                              expected: world.naive([world.workspaces[2]]), owner: owner, limit: 3)

        // Default limit 20 on a fan-out too.
        let first = try Rec.list(client, credential, query: "workspaces=all")
        #expect(first.status == 200)
        #expect(Rec.ids(first) == Array(union.prefix(20)))
        #expect(Rec.nextCursor(first) != nil)
    }

    @Test func fanOutCursorSurvivesInsertsAndDeletes() throws {
        let server = try TestServer()
        let client = try server.client()
        let world = try Self.makeFanOutWorld(client, tag: "fancur", records: 20)
        let credential = world.account.bearer
        let expected = world.naive(world.workspaces)
        let page1 = try Rec.list(client, credential, query: "workspaces=all&limit=8")
        #expect(Rec.ids(page1) == Array(expected.prefix(8)))
        let cursor = try #require(Rec.nextCursor(page1))
        // Insert into every workspace and delete one record from the rest of the walk.
        for workspace in world.workspaces { try Rec.createID(client, credential, data: #"{"late":true}"#, workspace: workspace) }
        let removed = expected[10]
        #expect(try client.request("DELETE", Rec.recordPath(removed), headers: [credential]).status == 204)
        var rest: [Int64] = []
        var next: String? = cursor
        while let current = next {
            let page = try Rec.list(client, credential, query: "workspaces=all&limit=8&cursor=\(Rec.encode(current))")
            #expect(page.status == 200, "\(page.text)")
            rest += Rec.ids(page)
            next = Rec.nextCursor(page)
        }
        #expect(rest == Array(expected.dropFirst(8)).filter { $0 != removed })
    }

    @Test func fanOutNamingAnUnreachableWorkspaceIsCrossTenant() throws {
        let server = try TestServer()
        let client = try server.client()
        let world = try Self.makeFanOutWorld(client, tag: "fanx", records: 8)
        let stranger = try Rec.signUp(client, tag: "stranger")
        let strangerRecord = try Rec.createID(client, stranger.bearer, data: #"{"secret":"stranger-marker"}"#)
        _ = strangerRecord
        let deleted = try client.createWorkspace(world.account, name: "Doomed")
        #expect(try client.request("DELETE", "/v1/workspaces/\(deleted)", headers: [world.account.bearer]).status == 204)
        let mine = world.workspaces[1]
        for list in ["\(mine),\(stranger.mainWorkspaceID)", "\(stranger.mainWorkspaceID)", "\(mine),999999",
                     "\(deleted)", "\(mine),\(deleted)", "\(world.workspaces[0]),\(world.workspaces[2]),\(stranger.mainWorkspaceID)"] {
            let response = try Rec.list(client, world.account.bearer, query: "workspaces=\(list)")
            Rec.expectError(response, 403, "CROSS_TENANT_WORKSPACE", "workspaces=\(list)")
            #expect(!response.text.contains("stranger-marker"))
        }
        // The stranger's `all` sees only their own.
        let theirs = try Rec.list(client, stranger.bearer, query: "workspaces=all")
        #expect(theirs.status == 200)
        #expect(Rec.ids(theirs) == [strangerRecord])
    }

    @Test func fanOutWithAWorkspaceSelectorIsAMismatch() throws {
        let server = try TestServer()
        let client = try server.client()
        let world = try Self.makeFanOutWorld(client, tag: "fanmm", records: 4)
        let key = try Rec.accountKey(client, world.account, mode: "full")
        let one = world.workspaces[1]
        for credential in [world.account.bearer, Rec.bearer(key)] {
            for query in ["workspaces=all", "workspaces=\(one)", "workspaces=\(one),\(world.workspaces[2])"] {
                let withHeader = try Rec.list(client, credential, query: query, headers: [Rec.ws(one)])
                Rec.expectError(withHeader, 400, "WORKSPACE_MISMATCH", "\(query) + X-Workspace-ID")
                let withQuery = try Rec.list(client, credential, query: "\(query)&workspace_id=\(one)")
                Rec.expectError(withQuery, 400, "WORKSPACE_MISMATCH", "\(query) + workspace_id")
            }
        }
    }

    @Test func fanOutOfAScopedKeyIsItsAllowList() throws {
        let server = try TestServer()
        let client = try server.client()
        let world = try Self.makeFanOutWorld(client, tag: "fanscoped")
        let allowed = [world.workspaces[1], world.workspaces[2]]
        let scoped = try Rec.accountKey(client, world.account, mode: "scoped", workspaceIDs: allowed)
        try Self.expectFanOut(client, Rec.bearer(scoped), query: "workspaces=all", expected: world.naive(allowed),
                              owner: world.owner, limit: 5)
        try Self.expectFanOut(client, Rec.bearer(scoped), query: "workspaces=\(allowed[1])",
                              expected: world.naive([allowed[1]]), owner: world.owner, limit: 100)
        for outside in [world.workspaces[0], world.workspaces[3]] {
            let response = try Rec.list(client, Rec.bearer(scoped), query: "workspaces=\(allowed[0]),\(outside)")
            Rec.expectError(response, 403, "CROSS_TENANT_WORKSPACE", "scoped key, workspaces with \(outside)")
        }
    }

    @Test func fanOutOfAWorkspaceKeyIsItsWorkspace() throws {
        let server = try TestServer()
        let client = try server.client()
        let world = try Self.makeFanOutWorld(client, tag: "fanwk")
        let bound = world.workspaces[2]
        let key = Rec.bearer(try Rec.workspaceKey(client, world.account, bound))
        try Self.expectFanOut(client, key, query: "workspaces=all", expected: world.naive([bound]), owner: world.owner,
                              limit: 3)
        try Self.expectFanOut(client, key, query: "workspaces=\(bound)", expected: world.naive([bound]),
                              owner: world.owner, limit: 100)
        // Its header and query are ignored: no WORKSPACE_MISMATCH.
        let withHeader = try Rec.list(client, key, query: "workspaces=all&limit=100", headers: [Rec.ws(world.workspaces[0])])
        #expect(withHeader.status == 200, "\(withHeader.text)")
        #expect(Rec.ids(withHeader) == world.naive([bound]))
        for other in [world.workspaces[0], world.workspaces[3]] {
            let response = try Rec.list(client, key, query: "workspaces=\(bound),\(other)")
            Rec.expectError(response, 403, "CROSS_TENANT_WORKSPACE", "workspace key, workspaces with \(other)")
        }
    }

    @Test func fanOutOfAFullKeyIncludesWorkspacesJoinedLater() throws {
        let server = try TestServer()
        let client = try server.client()
        let world = try Self.makeFanOutWorld(client, tag: "fanfull", records: 6)
        let key = Rec.bearer(try Rec.accountKey(client, world.account, mode: "full"))
        let before = try Rec.listAllIDs(client, key, query: "workspaces=all")
        #expect(before == world.naive(world.workspaces))
        let other = try Rec.signUp(client, tag: "host")
        let hosted = try client.createWorkspace(other, name: "Hosted")
        let hostedRecord = try Rec.createID(client, other.bearer, data: #"{"hosted":true}"#, workspace: hosted)
        #expect(!(try Rec.listAllIDs(client, key, query: "workspaces=all")).contains(hostedRecord))
        try Rec.addMember(client, owner: other, workspace: hosted, invitee: world.account, role: "viewer")
        let after = try Rec.listAllIDs(client, key, query: "workspaces=all")
        #expect(after == ([hostedRecord] + before).sorted(by: >))
    }
}
