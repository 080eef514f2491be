-- Workspace-scoped records (api.md §6), idempotency keys for record creation, and the event
-- outbox that webhook delivery reads (docs/events.md).

CREATE TABLE records (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    collection   TEXT NOT NULL,
    data         TEXT NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1,
    created_by   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
-- Pages are "newest first" = descending id within one workspace's collection.
CREATE INDEX records_by_collection ON records(workspace_id, collection, id);

-- A retried create with the same Idempotency-Key returns the first response (24 hours).
CREATE TABLE idempotency_keys (
    user_id      INTEGER NOT NULL,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL,
    location     TEXT,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, workspace_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);

-- Events, written in the same transaction as the change that caused them.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL,
    event_type   TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX outbox_by_workspace ON outbox(workspace_id, id);
