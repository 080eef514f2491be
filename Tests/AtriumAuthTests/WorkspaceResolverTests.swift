import AtriumAuth
import Testing

/// A tenancy table in memory: user 1 owns 10 (main) and 13, is admin of 11 and viewer of 12;
/// user 2 owns 20; user 3 has workspace 30 but no main; user 4 belongs to 40 only through a
/// membership that was removed. 99 does not exist.
private struct TableLookup: TenancyLookup {
    let roles: [Int64: [Int64: Role]] = [
        1: [10: .owner, 11: .admin, 12: .viewer, 13: .owner],
        2: [20: .owner],
        3: [30: .owner],
        4: [:],
    ]
    let mains: [Int64: Int64] = [1: 10, 2: 20]

    func role(userID: Int64, workspaceID: Int64) throws -> Role? { roles[userID]?[workspaceID] }
    func mainWorkspace(userID: Int64) throws -> Int64? { mains[userID] }
    func memberships(userID: Int64) throws -> [(workspaceID: Int64, role: Role)] {
        (roles[userID] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// The credential kinds of api.md §2, all belonging to user 1 unless named.
enum CredentialKind: String, CaseIterable, Sendable {
    case jwt, full, scoped, scopedWithMain, workspaceKey

    var principal: Principal {
        switch self {
        case .jwt: return Principal(userID: 1, credential: .session(sessionID: 7))
        case .full: return key(.full, nil, [])
        case .scoped: return key(.scoped, nil, [11, 12])
        case .scopedWithMain: return key(.scoped, nil, [10, 11])
        case .workspaceKey: return key(.workspace, 11, [])
        }
    }

    private func key(_ mode: APIKeyMode, _ workspace: Int64?, _ allow: [Int64]) -> Principal {
        Principal(userID: 1, credential: .apiKey(APIKeyGrant(keyID: 5, mode: mode, workspaceID: workspace,
                                                             allowList: allow, permissions: nil)))
    }
}

/// What a row of the table expects: a workspace id, or a failure.
enum Expected: Equatable, Sendable, CustomStringConvertible {
    case workspace(Int64)
    case failure(ResolutionFailure)

    var description: String {
        switch self {
        case .workspace(let id): return "workspace \(id)"
        case .failure(let failure): return "\(failure)"
        }
    }
}

struct ResolutionCase: Sendable, CustomTestStringConvertible {
    let name: String
    let header: [String]
    let query: [String]
    let requireWorkspace: Bool
    /// Expected result per credential kind.
    let expected: [CredentialKind: Expected]

    var testDescription: String { name }
}

private let W = Expected.workspace
private let F = Expected.failure

/// Builds the expectations for the three header-following kinds plus the workspace key.
private func row(_ name: String, header: [String] = [], query: [String] = [], require: Bool = false,
                 jwt: Expected, full: Expected? = nil, scoped: Expected, scopedWithMain: Expected,
                 workspaceKey: Expected = W(11)) -> ResolutionCase {
    ResolutionCase(name: name, header: header, query: query, requireWorkspace: require,
                   expected: [.jwt: jwt, .full: full ?? jwt, .scoped: scoped, .scopedWithMain: scopedWithMain,
                              .workspaceKey: workspaceKey])
}

private let malformed = ["", "0", "-1", "+7", "007", "1.0", "1e3", "0x1F", "abc", "\u{0661}\u{0662}", "１２",
                         "9223372036854775808", "99999999999999999999", "11 12", "11,12", " "]

let resolutionTable: [ResolutionCase] = [
    row("omitted falls back to main", jwt: W(10), scoped: F(.workspaceRequired), scopedWithMain: W(10)),
    row("omitted with require_workspace", require: true, jwt: F(.workspaceRequired), scoped: F(.workspaceRequired),
        scopedWithMain: F(.workspaceRequired)),
    row("header names a member workspace", header: ["11"], jwt: W(11), scoped: W(11), scopedWithMain: W(11)),
    row("header names a viewer workspace", header: ["12"], jwt: W(12), scoped: W(12), scopedWithMain: F(.crossTenant)),
    row("header names main, scoped key without it", header: ["10"], jwt: W(10), scoped: F(.crossTenant),
        scopedWithMain: W(10)),
    row("header names another tenant's workspace", header: ["20"], jwt: F(.crossTenant), scoped: F(.crossTenant),
        scopedWithMain: F(.crossTenant)),
    row("header names a workspace that does not exist", header: ["99"], jwt: F(.crossTenant), scoped: F(.crossTenant),
        scopedWithMain: F(.crossTenant)),
    row("header given twice", header: ["11", "11"], jwt: F(.invalidWorkspaceHeader), scoped: F(.invalidWorkspaceHeader),
        scopedWithMain: F(.invalidWorkspaceHeader)),
    row("query names a member workspace", query: ["11"], jwt: W(11), scoped: W(11), scopedWithMain: W(11)),
    row("query given twice", query: ["11", "11"], jwt: F(.invalidWorkspaceID), scoped: F(.invalidWorkspaceID),
        scopedWithMain: F(.invalidWorkspaceID)),
    row("header and query agree", header: ["11"], query: ["11"], jwt: W(11), scoped: W(11), scopedWithMain: W(11)),
    row("header and query disagree", header: ["11"], query: ["12"], jwt: F(.workspaceMismatch),
        scoped: F(.workspaceMismatch), scopedWithMain: F(.workspaceMismatch)),
    row("malformed header beats mismatch", header: ["abc"], query: ["12"], jwt: F(.invalidWorkspaceHeader),
        scoped: F(.invalidWorkspaceHeader), scopedWithMain: F(.invalidWorkspaceHeader)),
    row("require_workspace with a header", header: ["11"], require: true, jwt: W(11), scoped: W(11), scopedWithMain: W(11)),
] + malformed.map { value in
    row("malformed header '\(value)'", header: [value], jwt: F(.invalidWorkspaceHeader),
        scoped: F(.invalidWorkspaceHeader), scopedWithMain: F(.invalidWorkspaceHeader))
} + malformed.map { value in
    row("malformed query '\(value)'", query: [value], jwt: F(.invalidWorkspaceID),
        scoped: F(.invalidWorkspaceID), scopedWithMain: F(.invalidWorkspaceID))
}

struct ResolutionCombination: Sendable, CustomTestStringConvertible {
    let rule: ResolutionCase
    let kind: CredentialKind
    var testDescription: String { "\(rule.name) × \(kind.rawValue)" }
}

@Suite("Workspace resolution rules (api.md §3)")
struct WorkspaceResolverTests {
    @Test("every rule × every credential type",
          arguments: resolutionTable.flatMap { rule in CredentialKind.allCases.map { ResolutionCombination(rule: rule, kind: $0) } })
    func resolves(_ combination: ResolutionCombination) throws {
        let rule = combination.rule
        let selector = WorkspaceSelector(headerValues: rule.header, queryValues: rule.query)
        let expected = try #require(rule.expected[combination.kind])
        let outcome: Expected
        do {
            let resolved = try WorkspaceResolver.resolve(
                principal: combination.kind.principal, selector: selector, requireWorkspace: rule.requireWorkspace,
                needs: .workspaceRead, lookup: TableLookup())
            outcome = .workspace(resolved.workspaceID)
        } catch let failure as ResolutionFailure {
            outcome = .failure(failure)
        }
        #expect(outcome == expected)
    }

    @Test("no main workspace → NO_MAIN_WORKSPACE; a named one still works")
    func noMain() throws {
        let user3 = Principal(userID: 3, credential: .session(sessionID: 1))
        #expect(throws: ResolutionFailure.noMainWorkspace) {
            try WorkspaceResolver.resolve(principal: user3, selector: .init(), requireWorkspace: false,
                                          needs: .workspaceRead, lookup: TableLookup())
        }
        let named = try WorkspaceResolver.resolve(principal: user3, selector: .init(headerValues: ["30"]),
                                                  requireWorkspace: false, needs: .workspaceRead, lookup: TableLookup())
        #expect(named.workspaceID == 30)
    }

    @Test("a workspace key whose user left its workspace → CROSS_TENANT_WORKSPACE")
    func workspaceKeyWithoutMembership() {
        let key = Principal(userID: 4, credential: .apiKey(APIKeyGrant(keyID: 1, mode: .workspace, workspaceID: 40,
                                                                        allowList: [], permissions: nil)))
        #expect(throws: ResolutionFailure.crossTenant) {
            try WorkspaceResolver.resolve(principal: key, selector: .init(headerValues: ["garbage"]),
                                          requireWorkspace: true, needs: .workspaceRead, lookup: TableLookup())
        }
    }

    @Test("role check: viewer cannot write; key permissions narrow the role")
    func permissions() throws {
        let jwt = CredentialKind.jwt.principal
        #expect(throws: ResolutionFailure.permissionDenied) {
            try WorkspaceResolver.resolve(principal: jwt, selector: .init(headerValues: ["12"]), requireWorkspace: false,
                                          needs: .contentWrite, lookup: TableLookup())
        }
        let readOnlyKey = Principal(userID: 1, credential: .apiKey(APIKeyGrant(
            keyID: 9, mode: .full, workspaceID: nil, allowList: [], permissions: [.contentRead, .workspaceRead])))
        #expect(throws: ResolutionFailure.permissionDenied) {
            try WorkspaceResolver.resolve(principal: readOnlyKey, selector: .init(), requireWorkspace: false,
                                          needs: .contentWrite, lookup: TableLookup())
        }
        let owner = try WorkspaceResolver.resolve(principal: readOnlyKey, selector: .init(), requireWorkspace: false,
                                                  needs: .contentRead, lookup: TableLookup())
        #expect(owner.role == .owner)
        #expect(owner.permissions == [.contentRead, .workspaceRead])
        #expect(!Role.admin.permissions.contains(.workspaceDelete))
        #expect(!Role.admin.permissions.contains(.ownershipTransfer))
        #expect(Role.owner.permissions == .all)
        #expect(!Role.viewer.permissions.contains(.contentWrite))
        #expect(Role.editor.permissions.contains(.contentWrite))
        #expect(!Role.editor.permissions.contains(.membersInvite))
    }

    struct PathCase: Sendable, CustomTestStringConvertible {
        let name: String
        let kind: CredentialKind
        let path: String
        let header: [String]
        let expected: Expected
        var testDescription: String { "\(name) × \(kind.rawValue)" }
    }

    @Test("workspace in the path", arguments: [
        PathCase(name: "member", kind: .jwt, path: "11", header: [], expected: W(11)),
        PathCase(name: "other tenant", kind: .jwt, path: "20", header: [], expected: F(.crossTenant)),
        PathCase(name: "missing", kind: .full, path: "99", header: [], expected: F(.crossTenant)),
        PathCase(name: "malformed", kind: .jwt, path: "007", header: [], expected: F(.invalidWorkspaceID)),
        PathCase(name: "malformed for a workspace key", kind: .workspaceKey, path: "x", header: [], expected: F(.invalidWorkspaceID)),
        PathCase(name: "header disagrees", kind: .jwt, path: "11", header: ["12"], expected: F(.workspaceMismatch)),
        PathCase(name: "header malformed", kind: .jwt, path: "11", header: ["-1"], expected: F(.invalidWorkspaceHeader)),
        PathCase(name: "workspace key, its own", kind: .workspaceKey, path: "11", header: ["abc"], expected: W(11)),
        PathCase(name: "workspace key, another of its user's", kind: .workspaceKey, path: "10", header: [], expected: F(.crossTenant)),
        PathCase(name: "scoped key, off the list", kind: .scoped, path: "10", header: [], expected: F(.crossTenant)),
        PathCase(name: "scoped key, on the list", kind: .scoped, path: "12", header: [], expected: W(12)),
    ])
    func path(_ c: PathCase) {
        let outcome: Expected
        do {
            let resolved = try WorkspaceResolver.resolvePath(principal: c.kind.principal, pathValue: c.path,
                                                             selector: .init(headerValues: c.header),
                                                             needs: .workspaceRead, lookup: TableLookup())
            outcome = .workspace(resolved.workspaceID)
        } catch {
            outcome = .failure(error as? ResolutionFailure ?? .notFound)
        }
        #expect(outcome == c.expected)
    }

    struct RowCase: Sendable, CustomTestStringConvertible {
        let name: String
        let kind: CredentialKind
        let rowWorkspace: Int64
        let header: [String]
        let needs: PermissionSet
        let expected: Expected
        var testDescription: String { "\(name) × \(kind.rawValue)" }
    }

    @Test("calls on one row take the workspace from the row", arguments: [
        RowCase(name: "reachable", kind: .jwt, rowWorkspace: 11, header: [], needs: .contentRead, expected: W(11)),
        RowCase(name: "another tenant's row", kind: .jwt, rowWorkspace: 20, header: [], needs: .contentRead, expected: F(.notFound)),
        RowCase(name: "header names another workspace", kind: .jwt, rowWorkspace: 11, header: ["10"], needs: .contentRead, expected: F(.notFound)),
        RowCase(name: "header names the row's workspace", kind: .full, rowWorkspace: 11, header: ["11"], needs: .contentRead, expected: W(11)),
        RowCase(name: "malformed header is still 400", kind: .jwt, rowWorkspace: 11, header: ["0x1"], needs: .contentRead, expected: F(.invalidWorkspaceHeader)),
        RowCase(name: "workspace key ignores malformed header", kind: .workspaceKey, rowWorkspace: 11, header: ["0x1"], needs: .contentRead, expected: W(11)),
        RowCase(name: "workspace key, row elsewhere", kind: .workspaceKey, rowWorkspace: 10, header: [], needs: .contentRead, expected: F(.notFound)),
        RowCase(name: "scoped key, row off the list", kind: .scoped, rowWorkspace: 10, header: [], needs: .contentRead, expected: F(.notFound)),
        RowCase(name: "reachable without the permission", kind: .jwt, rowWorkspace: 12, header: [], needs: .contentWrite, expected: F(.permissionDenied)),
    ])
    func row(_ c: RowCase) {
        let outcome: Expected
        do {
            let resolved = try WorkspaceResolver.resolveRow(principal: c.kind.principal, rowWorkspaceID: c.rowWorkspace,
                                                            selector: .init(headerValues: c.header), needs: c.needs,
                                                            lookup: TableLookup())
            outcome = .workspace(resolved.workspaceID)
        } catch {
            outcome = .failure(error as? ResolutionFailure ?? .crossTenant)
        }
        #expect(outcome == c.expected)
    }

    struct FanOutCase: Sendable, CustomTestStringConvertible {
        let name: String
        let kind: CredentialKind
        let value: String
        let header: [String]
        let expected: [Int64]?
        let failure: ResolutionFailure?
        var testDescription: String { "\(name) × \(kind.rawValue)" }
    }

    @Test("fan-out lists", arguments: [
        FanOutCase(name: "all", kind: .jwt, value: "all", header: [], expected: [10, 11, 12, 13], failure: nil),
        FanOutCase(name: "all", kind: .scoped, value: "all", header: [], expected: [11, 12], failure: nil),
        FanOutCase(name: "all", kind: .workspaceKey, value: "all", header: [], expected: [11], failure: nil),
        FanOutCase(name: "list", kind: .jwt, value: "12,10", header: [], expected: [10, 12], failure: nil),
        FanOutCase(name: "list with another tenant's", kind: .jwt, value: "10,20", header: [], expected: nil, failure: .crossTenant),
        FanOutCase(name: "list off the allow-list", kind: .scoped, value: "10,11", header: [], expected: nil, failure: .crossTenant),
        FanOutCase(name: "workspace key naming another", kind: .workspaceKey, value: "11,10", header: [], expected: nil, failure: .crossTenant),
        FanOutCase(name: "workspace key ignores header", kind: .workspaceKey, value: "11", header: ["10"], expected: [11], failure: nil),
        FanOutCase(name: "with a header", kind: .jwt, value: "all", header: ["10"], expected: nil, failure: .workspaceMismatch),
        FanOutCase(name: "malformed id", kind: .jwt, value: "10,x", header: [], expected: nil, failure: .invalidWorkspaceID),
        FanOutCase(name: "empty", kind: .jwt, value: "", header: [], expected: nil, failure: .invalidWorkspaceID),
    ])
    func fanOut(_ c: FanOutCase) {
        do {
            let resolved = try WorkspaceResolver.resolveFanOut(
                principal: c.kind.principal, selector: .init(headerValues: c.header, fanOutValues: [c.value]),
                needs: .contentRead, lookup: TableLookup())
            #expect(resolved?.map(\.workspaceID) == c.expected)
            #expect(c.failure == nil)
        } catch {
            #expect(error as? ResolutionFailure == c.failure)
        }
    }

    @Test("workspace id syntax", arguments: [
        ("1", Int64?.some(1)), ("42", 42), ("9223372036854775807", Int64.max), ("9223372036854775808", nil),
        ("0", nil), ("01", nil), ("-1", nil), ("+1", nil), ("1 ", nil), ("", nil), ("1e3", nil), ("\u{0661}", nil),
    ])
    func syntax(_ text: String, _ expected: Int64?) {
        #expect(WorkspaceResolver.parseWorkspaceID(text) == expected)
    }
}
