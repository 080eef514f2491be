import AtriumHTTP
import AtriumJSON
import Foundation
import Testing
@testable import AtriumAPI

/// The OpenAPI document is generated from the endpoint table the router is built from; these
/// tests fail when the two disagree or the document breaks its own references.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    let application: AtriumApplication
    let document: JSONValue

    init() throws {
        var configuration = AtriumConfiguration()
        configuration.dataDirectory = NSTemporaryDirectory() + "atrium-openapi-" + UUID().uuidString
        configuration.jwtSecret = String(repeating: "s", count: 32)
        application = try AtriumApplication(configuration: configuration)
        // The same call the server makes for GET /openapi.json, over the same table.
        document = try JSONParser.parse(OpenAPIDocument.build(application.endpoints))
    }

    var operations: [(path: String, method: String, operation: JSONValue)] {
        guard case .object(let paths)? = document["paths"] else { return [] }
        return paths.flatMap { path, item -> [(String, String, JSONValue)] in
            guard case .object(let methods) = item else { return [] }
            return methods.map { (path, $0.key.uppercased(), $0.value) }
        }
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() {
        let routes = Set(application.router.routes.map { "\($0.method.rawValue) \($0.template)" })
        let documented = Set(operations.map { "\($0.method) \($0.path)" })
        #expect(routes.subtracting(documented).isEmpty, "routes missing from the document")
        #expect(documented.subtracting(routes).isEmpty, "documented routes the server does not have")
        #expect(routes.count == application.endpoints.count)
        #expect(document["openapi"]?.stringValue == "3.1.0")
    }

    @Test func operationIDsAreUniqueAndLinksPointAtThem() {
        let ids = operations.compactMap { $0.operation["operationId"]?.stringValue }
        #expect(ids.count == operations.count)
        #expect(Set(ids).count == ids.count)
        for (path, method, operation) in operations {
            guard case .object(let responses)? = operation["responses"] else { continue }
            for (_, response) in responses {
                guard case .object(let links)? = response["links"] else { continue }
                for (name, link) in links {
                    let target = link["operationId"]?.stringValue ?? ""
                    #expect(ids.contains(target), "\(method) \(path): link \(name) → \(target)")
                }
            }
        }
    }

    @Test func everyErrorCodeIsAContractCodeUnderItsStatus() {
        for (path, method, operation) in operations {
            guard case .object(let responses)? = operation["responses"] else { continue }
            for (status, response) in responses where status.hasPrefix("4") || status.hasPrefix("5") {
                let codes = response["content"]?["application/json"]?["schema"]?["properties"]?["error"]?["properties"]?["code"]?["enum"]?
                    .arrayValue?.compactMap(\.stringValue) ?? []
                #expect(!codes.isEmpty, "\(method) \(path) \(status)")
                for code in codes {
                    let known = ErrorCode.all.first { $0.name == code }
                    #expect(known.map { String($0.status) } == status, "\(method) \(path): \(code)")
                }
            }
        }
    }

    @Test func scopedRoutesDeclareTheWorkspaceSelectors() {
        for endpoint in application.endpoints {
            let names = OpenAPIDocument.parameters(endpoint).compactMap { $0["name"]?.stringValue }
            switch endpoint.admission {
            case .selected, .row:
                #expect(names.contains("X-Workspace-ID") && names.contains("workspace_id"), "\(endpoint.path)")
            case .list:
                #expect(names.contains("workspaces") && names.contains("X-Workspace-ID"), "\(endpoint.path)")
            case .open, .account, .path:
                #expect(!names.contains("X-Workspace-ID"), "\(endpoint.path)")
            }
        }
    }

    @Test func everyReferenceResolves() {
        let text = document.serializedString
        let schemas = document["components"]?["schemas"]?.objectValue
        var references: Set<String> = []
        var rest = Substring(text)
        while let range = rest.range(of: "#/components/schemas/") {
            let name = rest[range.upperBound...].prefix { $0 != "\"" }
            references.insert(String(name))
            rest = rest[range.upperBound...]
        }
        #expect(!references.isEmpty)
        for name in references { #expect(schemas?[name] != nil, "\(name)") }
    }
}

/// What the Schemathesis run found, kept from coming back.
@Suite("OpenAPI findings")
struct OpenAPIFindingTests {
    /// Finding 1: calls on one row answer `400 WORKSPACE_MISMATCH` when the header and the
    /// query name different workspaces, and the document did not list that code for them.
    @Test func rowCallsDocumentWorkspaceMismatch() throws {
        var configuration = AtriumConfiguration()
        configuration.dataDirectory = NSTemporaryDirectory() + "atrium-openapi-" + UUID().uuidString
        configuration.jwtSecret = String(repeating: "s", count: 32)
        let application = try AtriumApplication(configuration: configuration)
        let rowEndpoints = application.endpoints.filter { $0.rowScope != nil }
        #expect(rowEndpoints.count >= 10)
        for endpoint in rowEndpoints {
            #expect(OpenAPIDocument.errorCodes(endpoint).contains(.workspaceMismatch), "\(endpoint.path)")
        }
    }
}
