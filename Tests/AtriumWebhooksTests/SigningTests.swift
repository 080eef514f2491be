import AtriumCrypto
import Testing
@testable import AtriumWebhooks

@Suite struct SigningTests {
    /// The example of the Standard Webhooks specification (README of standard-webhooks).
    @Test func matchesTheStandardWebhooksExample() {
        let header = WebhookSignature.header(
            messageID: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
            body: Array(#"{"test": 2432232314}"#.utf8), secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        #expect(header == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func signsWithEverySecretInOrderDuringARotation() {
        let body = Array("{}".utf8)
        let new = WebhookSecret.generate()
        let old = WebhookSecret.generate()
        let both = WebhookSignature.header(messageID: "evt_1", timestamp: 10, body: body, secrets: [new, old])
        let parts = both.split(separator: " ").map(String.init)
        #expect(parts.count == 2)
        #expect(parts[0] == WebhookSignature.header(messageID: "evt_1", timestamp: 10, body: body, secrets: [new]))
        #expect(parts[1] == WebhookSignature.header(messageID: "evt_1", timestamp: 10, body: body, secrets: [old]))
        #expect(parts[0] != parts[1])
    }

    @Test func generatedSecretsCarryThirtyTwoRandomBytes() throws {
        let a = WebhookSecret.generate()
        let b = WebhookSecret.generate()
        #expect(a.hasPrefix("whsec_"))
        #expect(a != b)
        #expect(try #require(WebhookSecret.key(of: a)).count == 32)
    }

    @Test(arguments: ["", "whsec_", "whsec_!!!", "sk_abc", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    func malformedSecretsHaveNoKey(_ text: String) {
        #expect(WebhookSecret.key(of: text) == nil)
        #expect(WebhookSignature.header(messageID: "m", timestamp: 1, body: [], secrets: [text]) == "")
    }
}
