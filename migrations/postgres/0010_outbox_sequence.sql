-- Events in commit order (server.md, "The outbox on PostgreSQL").
--
-- Transactions commit out of id order, so a reader that moves past id N could skip an event
-- whose transaction took a smaller id and commits later. The store's sequencer gives each
-- committed event a `seq` after its transaction committed, in one transaction at a time
-- (serialized by the row lock on outbox_sequence), so seqs become visible strictly in order:
-- whatever reads the outbox in order reads `seq`, and a row without one is not there yet.
-- This replaces the xid8 horizon column of 0002, which nothing reads.
DROP INDEX outbox_by_tx;
ALTER TABLE outbox DROP COLUMN tx;
ALTER TABLE outbox ADD COLUMN seq BIGINT;
CREATE UNIQUE INDEX outbox_by_seq ON outbox(seq);
CREATE INDEX outbox_unsequenced ON outbox(id) WHERE seq IS NULL;
DROP INDEX outbox_by_workspace;
CREATE INDEX outbox_by_workspace ON outbox(workspace_id, seq);

-- The newest seq ever given out (0: none yet), kept even when its event is purged.
CREATE TABLE outbox_sequence (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO outbox_sequence (id, value) VALUES (1, 0);
