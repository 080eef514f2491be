-- PostgreSQL only: its outbox gets a commit-ordered `seq` (see migrations/postgres/0010).
-- On SQLite one writer commits in id order, so the id already is that order; the version
-- exists here so both engines' schemas carry the same version numbers.
SELECT 1;
