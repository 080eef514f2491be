import AtriumCrypto
import AtriumSQLite

/// Invitation tokens at rest: only their SHA-256 is stored (like API keys and refresh
/// tokens), so a copy of the database holds no live invitation link. The token itself is
/// shown once, when the invitation is created or resent.
public enum InvitationToken {
    /// The stored form of `token`.
    public static func hash(_ token: String) -> [UInt8] {
        SHA256Digest.hash(token)
    }

    /// Migration 6 with its Swift half: SQLite cannot hash, so the rows that still carry a
    /// plaintext token get their hash here, in the migration's own transaction.
    static func migrations(_ all: [Migration]) -> [Migration] {
        all.map { $0.version == 6 ? $0.followed(by: hashExistingTokens) : $0 }
    }

    @Sendable
    static func hashExistingTokens(_ connection: SQLiteConnection) throws(SQLiteError) {
        let rows = try connection.query("SELECT id, token FROM invitations WHERE token_hash IS NULL")
        for row in rows {
            guard case .integer(let id) = row[0], case .text(let token) = row[1] else { continue }
            try connection.run("UPDATE invitations SET token_hash = ? WHERE id = ?", [.blob(hash(token)), .integer(id)])
        }
    }
}
