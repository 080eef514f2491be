import AtriumOutbound
import AtriumStore

/// One attempt, with everything a worker needs to send it without touching the store.
struct DeliveryJob: Sendable {
    /// The pending row of a retry; nil for a first attempt.
    let deliveryID: Int64?
    let attempt: Int
    let webhook: WebhookRow
    let event: OutboxEvent

    /// The signing secrets in force at `nowMilliseconds`: the current one, plus the previous
    /// one during the 24 hours after a rotation.
    func secrets(nowMilliseconds: Int64) -> [String] {
        var secrets = [webhook.secret]
        if let previous = webhook.previousSecret, let until = webhook.previousSecretExpiresAt, until > nowMilliseconds {
            secrets.append(previous)
        }
        return secrets
    }

    /// The POST this attempt sends: Standard Webhooks headers over the event body.
    func request(url: WebhookURL, nowMilliseconds: Int64) -> OutboundRequest {
        let body = EventPayload.body(for: event, fields: webhook.fields)
        let messageID = EventPayload.messageID(event.id)
        let timestamp = nowMilliseconds / 1000
        let signature = WebhookSignature.header(messageID: messageID, timestamp: timestamp, body: body,
                                                secrets: secrets(nowMilliseconds: nowMilliseconds))
        return OutboundRequest(url: url, headers: [
            ("Content-Type", "application/json"),
            ("User-Agent", "Atrium-Webhooks/1"),
            ("webhook-id", messageID),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", signature),
        ], body: body)
    }
}
