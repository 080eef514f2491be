-- Several instances on one database (server.md, "Growing past one machine").
-- PostgreSQL translation of migrations/sqlite/0011_cluster_leaders.sql.
--
-- One row per cluster-wide singleton (the webhook dispatcher): the epoch grows by one each
-- time an instance takes the role over. The holder's writes check, in their own transaction,
-- that the epoch is still the one it took, so an instance that lost the role (its lock's
-- session died) cannot write back after another took over.
CREATE TABLE cluster_leaders (
    role         TEXT PRIMARY KEY,
    epoch        BIGINT NOT NULL,
    holder       TEXT NOT NULL,
    acquired_at  BIGINT NOT NULL
);

-- One delivery row per attempt: a write-back made twice (two dispatchers, a retried
-- transaction) cannot record one attempt twice. Duplicates left by older versions go first.
DELETE FROM webhook_deliveries WHERE id NOT IN
    (SELECT MIN(id) FROM webhook_deliveries GROUP BY webhook_id, event_id, attempt);
CREATE UNIQUE INDEX webhook_deliveries_attempt ON webhook_deliveries(webhook_id, event_id, attempt);
