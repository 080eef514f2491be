-- Request rates across several instances (configuration.md, "Request rates").
--
-- What each instance took from a plan's rate limit in one minute window, per scope ('w:<id>'
-- for a workspace, 'k:<id>' for an API key, '' for the instance's heartbeat). Runtime state:
-- only PostgreSQL clusters write it (SQLite has one instance, whose buckets are exact);
-- copy-store does not copy it. Old windows are purged by the instances.
CREATE TABLE rate_counters (
    scope         TEXT NOT NULL,
    window_start  INTEGER NOT NULL,
    instance      TEXT NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (scope, window_start, instance)
);
