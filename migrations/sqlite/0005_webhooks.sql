-- Per-workspace webhook endpoints and their delivery attempts (api.md §6, docs/webhooks.md).

CREATE TABLE webhooks (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id                INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    url                         TEXT NOT NULL,
    description                 TEXT,
    -- JSON arrays: the event types (or ["*"]) and the record data fields (NULL = all).
    events                      TEXT NOT NULL,
    fields                      TEXT,
    active                      INTEGER NOT NULL,
    disabled_reason             TEXT,
    -- The signing secret must be usable, so it is stored as issued ("whsec_…"); see docs/security.md.
    secret                      TEXT NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  INTEGER,
    secret_rotated_at           INTEGER,
    -- The outbox id up to which this endpoint's first attempts are settled (the dispatcher
    -- reads the workspace's events after it). Set to the newest event at creation and when
    -- the endpoint is turned back on: an endpoint gets the events of its active life only.
    cursor                      INTEGER NOT NULL DEFAULT 0,
    created_by                  INTEGER NOT NULL,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
);
CREATE INDEX webhooks_by_workspace ON webhooks(workspace_id, id);

-- One row per attempt made, plus a `pending` row for each scheduled retry. First attempts
-- have no row until they are made (the endpoint's cursor stands for them). `event_id` is the
-- outbox id; the payload is read from the outbox.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id         INTEGER NOT NULL,
    event_type       TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    response_status  INTEGER,
    error            TEXT,
    duration_ms      INTEGER,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id, id);
-- The dispatcher's work queue: an endpoint's due attempts in order.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(webhook_id, next_attempt_at, id)
    WHERE status = 'pending';
