-- One store-wide counter that every write revoking or changing rights bumps in its own
-- transaction (logout, session revocation, key update or delete, member removal or role
-- change, workspace delete, ownership transfer, plan change). Open event streams read it in
-- the same snapshot as the events they send, and re-validate their callers when it moved
-- (docs/events.md). PostgreSQL translation of migrations/sqlite/0009_tenancy_epoch.sql.

CREATE TABLE tenancy_epoch (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);

INSERT INTO tenancy_epoch (id, value) VALUES (1, 0);
