@testable import AtriumAPI
import AtriumHTTP
import Foundation
import Testing

/// Error codes are values that carry their status (`ErrorCode`); these tests hold the one
/// list of them to the contract's table (api.md §1), and every code declared anywhere in the
/// sources to that list, so a code cannot exist in one table and not another.
@Suite("Error codes")
struct ErrorCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// api.md §1's table, as status → codes. Kept here so the test runs without `../shared`;
    /// when the spec is beside the repository, the copy is checked against it.
    static let contractTable: [Int: Set<String>] = [
        400: ["INVALID_JSON", "VALIDATION_FAILED", "INVALID_PARAMETER", "INVALID_WORKSPACE_HEADER", "INVALID_WORKSPACE_ID",
              "WORKSPACE_MISMATCH", "WORKSPACE_REQUIRED", "INVALID_ROLE_TRANSITION", "BAD_REQUEST"],
        401: ["UNAUTHENTICATED", "INVALID_TOKEN", "TOKEN_EXPIRED", "INVALID_CREDENTIALS"],
        403: ["CROSS_TENANT_WORKSPACE", "NO_MAIN_WORKSPACE", "PERMISSION_DENIED", "SESSION_REQUIRED", "SIGNUP_DISABLED",
              "LIMIT_REACHED", "FEATURE_UNAVAILABLE"],
        404: ["NOT_FOUND"], 405: ["METHOD_NOT_ALLOWED"],
        408: ["REQUEST_TIMEOUT"], 413: ["PAYLOAD_TOO_LARGE"], 414: ["URI_TOO_LONG"], 431: ["HEADERS_TOO_LARGE"],
        409: ["EMAIL_TAKEN", "ALREADY_MEMBER", "INVITATION_PENDING", "INVITATION_NOT_PENDING", "MAIN_WORKSPACE",
              "IDEMPOTENCY_CONFLICT"],
        410: ["CURSOR_EXPIRED"], 412: ["PRECONDITION_FAILED"], 415: ["UNSUPPORTED_MEDIA_TYPE"], 429: ["RATE_LIMITED"],
        500: ["INTERNAL"], 501: ["NOT_IMPLEMENTED"], 503: ["UNAVAILABLE"],
    ]

    /// Reads the status → codes table from api.md's markdown (`| 400 | `A`, `B` |`).
    static func parseTable(_ text: String) -> [Int: Set<String>] {
        var table: [Int: Set<String>] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2 else { continue }
            let statuses = cells[0].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !statuses.isEmpty else { continue }
            let codes = cells[1].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
                .filter { $0.allSatisfy { $0.isUppercase || $0 == "_" } }
            if statuses.count == codes.count {
                for (status, code) in zip(statuses, codes) { table[status, default: []].insert(code) }
            } else {
                for status in statuses { table[status, default: []].formUnion(codes) }
            }
        }
        return table
    }

    @Test func theCopyOfTheTableIsTheContracts() throws {
        let spec = Self.root.deletingLastPathComponent().appendingPathComponent("shared/spec/api.md")
        guard let text = try? String(contentsOf: spec, encoding: .utf8) else { return }
        #expect(Self.parseTable(text) == Self.contractTable)
    }

    @Test func everyContractCodeIsAValueWithItsStatus() {
        var declared: [Int: Set<String>] = [:]
        for code in ErrorCode.contract { declared[code.status, default: []].insert(code.name) }
        #expect(declared == Self.contractTable)
        #expect(Set(ErrorCode.all.map(\.name)).count == ErrorCode.all.count, "a code is listed twice")
    }

    @Test func protocolAnswersAreOnlyTheDocumentedOnes() {
        #expect(ErrorCode.protocolOnly.map(\.name) == ["EXPECTATION_FAILED", "HTTP_VERSION_NOT_SUPPORTED"])
        #expect(ErrorCode.internalError.name == "INTERNAL", "the contract says INTERNAL, not INTERNAL_ERROR")
    }

    /// Every `ErrorCode("NAME", status: N)` written anywhere in `Sources/` is in the list
    /// under the same status: a code can only be emitted through a value, and every value is
    /// the contract's (or one of the two protocol answers).
    @Test func everyCodeTheSourcesDeclareIsListed() throws {
        let sources = Self.root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        #expect(!files.isEmpty)
        let pattern = try NSRegularExpression(pattern: #"ErrorCode\("([A-Z_]+)", status: (\d+)\)"#)
        let listed = Dictionary(uniqueKeysWithValues: ErrorCode.all.map { ($0.name, $0.status) })
        var found = 0
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                guard let name = Range(match.range(at: 1), in: text).map({ String(text[$0]) }),
                      let status = Range(match.range(at: 2), in: text).flatMap({ Int(text[$0]) }) else { continue }
                found += 1
                #expect(listed[name] == status, "\(file.lastPathComponent): \(name) \(status) is not in ErrorCode.all")
            }
            #expect(!text.contains("INTERNAL_ERROR"), "\(file.lastPathComponent) spells INTERNAL_ERROR")
        }
        #expect(found >= ErrorCode.all.count)
    }

    @Test("The parser's refusals map to their codes", arguments: [
        (400, "BAD_REQUEST"), (408, "REQUEST_TIMEOUT"), (413, "PAYLOAD_TOO_LARGE"), (414, "URI_TOO_LONG"),
        (417, "EXPECTATION_FAILED"), (431, "HEADERS_TOO_LARGE"), (501, "NOT_IMPLEMENTED"),
        (505, "HTTP_VERSION_NOT_SUPPORTED"),
    ])
    func parseStatuses(status: Int, code: String) {
        #expect(ErrorCode.forParseStatus(status).name == code)
        #expect(ErrorCode.forParseStatus(status).status == status)
    }
}
