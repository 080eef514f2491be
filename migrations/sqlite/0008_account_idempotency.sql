-- Idempotency keys of creates that belong to no workspace (POST /v1/workspaces and
-- POST /v1/api-keys): the same rules as idempotency_keys, scoped to the user alone.
CREATE TABLE account_idempotency_keys (
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL,
    location     TEXT,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) WITHOUT ROWID;
CREATE INDEX account_idempotency_keys_by_age ON account_idempotency_keys(created_at);
