-- Idempotency keys of creates that belong to no workspace (POST /v1/workspaces and
-- POST /v1/api-keys): the same rules as idempotency_keys, scoped to the user alone.
-- PostgreSQL translation of migrations/sqlite/0008_account_idempotency.sql.
CREATE TABLE account_idempotency_keys (
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    status       BIGINT NOT NULL,
    location     TEXT,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX account_idempotency_keys_by_age ON account_idempotency_keys(created_at);
