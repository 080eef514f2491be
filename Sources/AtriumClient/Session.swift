import Foundation

/// How the client authenticates.
public enum Credential: Sendable {
    /// An API key (`atr_…`), as `Authorization: Bearer` or in `X-API-Key`.
    case apiKey(String, via: KeyHeader = .bearer)
    /// A login session whose access token the client refreshes.
    case session(SessionStore)

    public enum KeyHeader: Sendable { case bearer, xAPIKey }
}

/// An access and refresh token pair, and when the access token expires.
public struct SessionTokens: Sendable, Equatable {
    public var accessToken: String
    public var refreshToken: String
    public var expiresAt: Date

    public init(accessToken: String, refreshToken: String, expiresAt: Date) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAt = expiresAt
    }

    init(_ tokens: Tokens, now: Date = Date()) {
        self.init(accessToken: tokens.accessToken, refreshToken: tokens.refreshToken,
                  expiresAt: now.addingTimeInterval(TimeInterval(tokens.expiresIn)))
    }
}

/// The tokens of one session, shared by every client made from it (supabase-swift's
/// SessionManager): however many calls find the access token expired at once, one refresh runs
/// and all of them wait for it. A refresh is never retried: a refresh token is single-use and
/// presenting a spent one revokes the session, so a refresh whose answer was lost ends the
/// session (`AtriumError`, and `tokens` becomes nil) instead of being sent again.
public actor SessionStore {
    public private(set) var tokens: SessionTokens?
    /// How many refreshes this store has sent.
    public private(set) var refreshCount = 0
    private var inFlight: Task<SessionTokens, any Error>?
    private let onChange: (@Sendable (SessionTokens?) async -> Void)?

    public init(_ tokens: SessionTokens, onChange: (@Sendable (SessionTokens?) async -> Void)? = nil) {
        self.tokens = tokens
        self.onChange = onChange
    }

    /// A usable access token: the current one, or a fresh one when it is about to expire.
    func accessToken(refresh: @escaping @Sendable (String) async throws -> SessionTokens) async throws -> String {
        if let inFlight { return try await inFlight.value.accessToken }
        guard let tokens else { throw SessionStore.ended }
        let margin = min(10, max(0.25, tokens.expiresAt.timeIntervalSinceNow / 10))
        if tokens.expiresAt.timeIntervalSinceNow > margin { return tokens.accessToken }
        return try await refreshed(after: tokens.accessToken, refresh: refresh)
    }

    /// Fresh tokens after `rejected` was refused as expired; one refresh however many ask.
    func refreshed(after rejected: String, refresh: @escaping @Sendable (String) async throws -> SessionTokens)
        async throws -> String
    {
        if let inFlight { return try await inFlight.value.accessToken }
        guard let tokens else { throw SessionStore.ended }
        if tokens.accessToken != rejected { return tokens.accessToken }  // someone refreshed already
        let refreshToken = tokens.refreshToken
        refreshCount += 1
        let task = Task { try await refresh(refreshToken) }
        inFlight = task
        do {
            let fresh = try await task.value
            self.tokens = fresh
            inFlight = nil
            await onChange?(fresh)
            return fresh.accessToken
        } catch {
            // Not retried: the token may be spent (docs/sdk.md). The session is over.
            self.tokens = nil
            inFlight = nil
            await onChange?(nil)
            throw error
        }
    }

    /// Forgets the tokens (after logout).
    func end() async {
        tokens = nil
        await onChange?(nil)
    }

    static let ended = AtriumError(status: 401, code: .invalidToken, message: "The session has ended; log in again.")
}
