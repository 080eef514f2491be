import AtriumJSON
import Foundation
import Testing

/// Regression tests for what the Schemathesis conformance run found (docs/openapi.md).
@Suite("Conformance findings")
struct ConformanceFindingTests {
    /// Finding 2: `PUT /v1/api-keys/{keyId}` took any `mode` (even "__not_in_enum__") and
    /// ignored it. A key's mode is fixed at creation: naming another is `400 VALIDATION_FAILED`.
    @Test func aKeyUpdateRefusesAnotherOrUnknownMode() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let key = try client.createKey(account, mode: "full")
        for mode in ["__not_in_enum__", "scoped", "workspace", "7"] {
            let response = try client.request("PUT", "/v1/api-keys/\(key.id)", headers: [account.bearer],
                                              body: #"{"name":"renamed","mode":"\#(mode)"}"#)
            #expect(response.status == 400, "\(mode)")
            #expect(response.errorCode == "VALIDATION_FAILED")
            #expect(response.json["error"]?["details"]?.arrayValue?.first?["field"]?.stringValue == "mode")
        }
        let listed = try client.request("GET", "/v1/api-keys", headers: [account.bearer])
        #expect(listed.json["data"]?.arrayValue?.first?["name"]?.stringValue == "k")
        let same = try client.request("PUT", "/v1/api-keys/\(key.id)", headers: [account.bearer],
                                      body: #"{"name":"renamed","mode":"full"}"#)
        #expect(same.status == 200)
        #expect(same.json["name"]?.stringValue == "renamed")
    }
}
