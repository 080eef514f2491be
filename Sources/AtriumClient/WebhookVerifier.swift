import Foundation

/// A verified webhook delivery (api.md §6).
public struct WebhookEvent: Decodable, Sendable {
    public var id: String
    public var type: String
    public var workspaceId: Int64
    public var createdAt: Date
    public var data: JSONObject

    enum CodingKeys: String, CodingKey {
        case id, type, data
        case workspaceId = "workspace_id"
        case createdAt = "created_at"
    }
}

/// Checks Standard Webhooks signatures: `webhook-signature` holds one or more `v1,<base64
/// HMAC-SHA256 of "id.timestamp.body">`, keyed with the bytes after `whsec_`; the timestamp must be
/// within `tolerance` of now (a captured delivery cannot be replayed later). Give both secrets
/// during a rotation: a signature by either passes.
public struct WebhookVerifier: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        case missingHeader(String)
        case invalidSecret
        case staleTimestamp
        case noMatchingSignature
        case invalidPayload
    }

    let keys: [[UInt8]]
    public let tolerance: Duration

    public init(secrets: [String], tolerance: Duration = .seconds(300)) throws {
        keys = try secrets.map { secret in
            let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
            guard let key = Data(base64Encoded: encoded), !key.isEmpty else { throw Failure.invalidSecret }
            return Array(key)
        }
        guard !keys.isEmpty else { throw Failure.invalidSecret }
        self.tolerance = tolerance
    }

    /// Verifies a delivery and decodes it. Header names are matched in any letter case.
    public func verify(body: Data, headers: [String: String], now: Date = Date()) throws -> WebhookEvent {
        try check(body: body, headers: headers, now: now)
        do {
            return try Timestamps.decoder().decode(WebhookEvent.self, from: body)
        } catch {
            throw Failure.invalidPayload
        }
    }

    /// Verifies the signature and timestamp only.
    public func check(body: Data, headers: [String: String], now: Date = Date()) throws {
        var lower: [String: String] = [:]
        for (name, value) in headers { lower[name.lowercased()] = value }
        guard let id = lower["webhook-id"] else { throw Failure.missingHeader("webhook-id") }
        guard let timestamp = lower["webhook-timestamp"] else { throw Failure.missingHeader("webhook-timestamp") }
        guard let signatures = lower["webhook-signature"] else { throw Failure.missingHeader("webhook-signature") }
        guard let seconds = Int64(timestamp),
              abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance.seconds else {
            throw Failure.staleTimestamp
        }
        let message = Array("\(id).\(timestamp).".utf8) + Array(body)
        let candidates = signatures.split(separator: " ").compactMap { entry -> [UInt8]? in
            guard entry.hasPrefix("v1,"), let bytes = Data(base64Encoded: String(entry.dropFirst(3))) else {
                return nil
            }
            return Array(bytes)
        }
        for key in keys {
            let expected = HMACSHA256.authenticationCode(key: key, message: message)
            if candidates.contains(where: { Self.constantTimeEqual($0, expected) }) { return }
        }
        throw Failure.noMatchingSignature
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
