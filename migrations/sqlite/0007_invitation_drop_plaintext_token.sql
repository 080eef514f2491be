-- The plaintext `token` goes (0006 hashed every row). A UNIQUE column cannot be dropped in
-- place, so the table is rebuilt; the store runs this migration with secure_delete on, so the
-- freed pages that held the tokens are zeroed rather than left in the file.
CREATE TABLE invitations_hashed (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    -- SHA-256 of the token, which is shown once (at invite and at resend). Accepting also
    -- needs a session of `email`, so the token alone grants nothing.
    token_hash   BLOB NOT NULL UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked')),
    invited_by   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
INSERT INTO invitations_hashed
    (id, workspace_id, email, role, token_hash, status, invited_by, expires_at, created_at, updated_at)
    SELECT id, workspace_id, email, role, token_hash, status, invited_by, expires_at, created_at, updated_at
    FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_hashed RENAME TO invitations;
CREATE INDEX invitations_by_workspace ON invitations(workspace_id, status, email);
CREATE INDEX invitations_by_email ON invitations(email, status);
PRAGMA secure_delete = OFF;
