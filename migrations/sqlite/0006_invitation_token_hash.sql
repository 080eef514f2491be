-- Invitation tokens are kept as SHA-256 hashes, like API keys and refresh tokens: a copy of the
-- database no longer holds live invitation links. SQLite has no SHA-256, so the store fills
-- token_hash for existing rows in Swift, in this migration's transaction
-- (InvitationTokenMigration in AtriumStore); 0007 then drops the plaintext column.
ALTER TABLE invitations ADD COLUMN token_hash BLOB;
