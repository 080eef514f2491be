-- The plaintext `token` goes (0006 hashed every row). PostgreSQL translation of
-- migrations/sqlite/0007_invitation_drop_plaintext_token.sql: PostgreSQL drops a UNIQUE column
-- in place (its constraint goes with it), so the table is not rebuilt. DROP COLUMN leaves the
-- old values in dead tuple space until the table is rewritten; no PostgreSQL store ever held
-- plaintext tokens (they start after this release), so there is nothing to scrub.
ALTER TABLE invitations DROP COLUMN token;
ALTER TABLE invitations ALTER COLUMN token_hash SET NOT NULL;
-- SHA-256 of the token, which is shown once (at invite and at resend). Accepting also
-- needs a session of `email`, so the token alone grants nothing.
ALTER TABLE invitations ADD CONSTRAINT invitations_token_hash_key UNIQUE (token_hash);
