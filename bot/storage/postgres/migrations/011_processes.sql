-- The bot processes sharing this database (bot/lifecycle/processes.py), so they share EggAPI's request
-- budget: each takes EGGBOT_EGGAPI_RPS / (live processes). A process registers at start (number: the
-- "processes" generation its registration made), renews heartbeat_at at each look, and deletes its row
-- when it stops cleanly; it is live while heartbeat_at is younger than EGGBOT_LEASE_TTL (the server's
-- clock, so hosts whose clocks differ agree). seen: the newest registration it has applied its share
-- for, so a newcomer knows when the others made room.
CREATE TABLE processes (
    owner        TEXT        PRIMARY KEY,
    seat         TEXT        NOT NULL,
    number       BIGINT      NOT NULL,
    seen         BIGINT      NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL
);

-- What a 429 or 503 told one process, for all of them: requests wait until paused_until, and each
-- new slowdown (a 429) halves every process's rate once. One row (id 1), written at the first one.
CREATE TABLE request_budget (
    id           INTEGER     PRIMARY KEY CHECK (id = 1),
    paused_until TIMESTAMPTZ,
    slowdowns    BIGINT      NOT NULL
);
