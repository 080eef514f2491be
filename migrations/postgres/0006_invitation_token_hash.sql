-- Invitation tokens are kept as SHA-256 hashes, like API keys and refresh tokens: a copy of the
-- database no longer holds live invitation links. PostgreSQL translation of
-- migrations/sqlite/0006_invitation_token_hash.sql: PostgreSQL hashes in SQL, so the Swift step
-- of the SQLite side (InvitationToken in AtriumStore) is this UPDATE, with the same result
-- (SHA-256 of the token's UTF-8 bytes); 0007 then drops the plaintext column.
ALTER TABLE invitations ADD COLUMN token_hash BYTEA;
UPDATE invitations SET token_hash = sha256(convert_to(token, 'UTF8')) WHERE token_hash IS NULL;
