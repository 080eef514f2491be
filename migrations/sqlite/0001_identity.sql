-- Accounts, workspaces, memberships, sessions and API keys (api.md §2–§5).
-- Times are INTEGER milliseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    email             TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    password_hash     TEXT NOT NULL,
    main_workspace_id INTEGER REFERENCES workspaces(id) ON DELETE SET NULL,
    plan              TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE workspaces (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    color      TEXT,
    metadata   TEXT NOT NULL DEFAULT '{}',
    owner_id   INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX workspaces_by_owner ON workspaces(owner_id);

CREATE TABLE members (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    joined_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, user_id)
);
-- Resolution asks "what is user U's role in workspace W" on every scoped request.
CREATE UNIQUE INDEX members_by_user ON members(user_id, workspace_id, role);
CREATE UNIQUE INDEX members_one_owner ON members(workspace_id) WHERE role = 'owner';

CREATE TABLE sessions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    refresh_hash       BLOB NOT NULL UNIQUE,
    refresh_expires_at INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    revoked_at         INTEGER
);
CREATE INDEX sessions_by_user ON sessions(user_id);

-- Refresh tokens already exchanged: presenting one again revokes its session.
CREATE TABLE spent_refresh_tokens (
    hash       BLOB PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX spent_refresh_tokens_by_session ON spent_refresh_tokens(session_id);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mode         TEXT NOT NULL CHECK (mode IN ('workspace', 'full', 'scoped')),
    workspace_id INTEGER REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  BLOB NOT NULL UNIQUE,
    permissions  TEXT,
    expires_at   INTEGER,
    last_used_at INTEGER,
    created_at   INTEGER NOT NULL,
    CHECK ((mode = 'workspace') = (workspace_id IS NOT NULL))
);
CREATE INDEX api_keys_by_user ON api_keys(user_id);
CREATE INDEX api_keys_by_workspace ON api_keys(workspace_id);

CREATE TABLE api_key_workspaces (
    key_id       INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, workspace_id)
) WITHOUT ROWID;
CREATE INDEX api_key_workspaces_by_workspace ON api_key_workspaces(workspace_id);

-- Fixed-window counters for throttles (login failures, invitations), shared by every instance.
CREATE TABLE rate_limits (
    bucket       TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL
) WITHOUT ROWID;
