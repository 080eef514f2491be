-- One store-wide counter that every write revoking or changing rights bumps in its own
-- transaction (logout, session revocation, key update or delete, member removal or role
-- change, workspace delete, ownership transfer, plan change). Open event streams read it in
-- the same snapshot as the events they send, and re-validate their callers when it moved
-- (docs/events.md).

CREATE TABLE tenancy_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);

INSERT INTO tenancy_epoch (id, value) VALUES (1, 0);
