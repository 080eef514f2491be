
// Idempotency keys of creates that belong to no workspace (a workspace, an account API key).
// Workspace creates keep theirs in `idempotency_keys` (StoreReader+Records.swift).

extension StoreReader {
    /// The stored first response for an account-level idempotency key younger than `notBefore`.
    public func accountIdempotentResponse(userID: Int64, key: String, notBefore: Int64)
        throws(SQLError) -> IdempotentResponse?
    {
        let statement = try connection.prepare("""
            SELECT request_hash, status, location, body FROM account_idempotency_keys
            WHERE user_id = ? AND key = ? AND created_at >= ?
            """)
        defer { statement.reset() }
        try statement.bind(userID, at: 1)
        try statement.bind(key, at: 2)
        try statement.bind(notBefore, at: 3)
        guard try statement.step() else { return nil }
        return IdempotentResponse(requestHash: statement.blob(0) ?? [], status: Int(statement.int64(1)),
                                  location: statement.string(2), body: statement.string(3) ?? "")
    }
}

extension StoreWriter {
    public func saveAccountIdempotentResponse(userID: Int64, key: String, response: IdempotentResponse,
                                              now: Int64) throws(SQLError) {
        try connection.run("""
            INSERT INTO account_idempotency_keys
              (user_id, key, request_hash, status, location, body, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (user_id, key) DO UPDATE SET
              request_hash = excluded.request_hash, status = excluded.status, location = excluded.location,
              body = excluded.body, created_at = excluded.created_at
            """,
            [.integer(userID), .text(key), .blob(response.requestHash), .integer(Int64(response.status)),
             response.location.map(SQLValue.text) ?? .null, .text(response.body), .integer(now)])
    }
}
