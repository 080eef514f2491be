-- Invitations, the audit log and per-workspace request counts (api.md §5, §6).

CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    -- The token is a capability bound to `email`: accepting needs a session of that email,
    -- so the token alone grants nothing; it is kept so the invitee can list and accept.
    token        TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked')),
    invited_by   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX invitations_by_workspace ON invitations(workspace_id, status, email);
CREATE INDEX invitations_by_email ON invitations(email, status);

-- Kept after a workspace is deleted (no foreign key): nobody can read it then, but the
-- operator still has the history.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL,
    action        TEXT NOT NULL,
    actor_user_id INTEGER,
    credential    TEXT,
    key_id        INTEGER,
    target        TEXT NOT NULL,
    ip            TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX audit_log_by_workspace ON audit_log(workspace_id, id);

-- Requests per workspace per UTC day, written in batches (like key last-use times).
CREATE TABLE workspace_requests (
    workspace_id INTEGER NOT NULL,
    day          INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day)
) WITHOUT ROWID;
