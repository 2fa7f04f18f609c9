-- The bot processes sharing this database (bot/lifecycle/processes.py), so they share EggAPI's request
-- budget: each takes EGGBOT_EGGAPI_RPS / (live processes). A process registers at start (number: the
-- "processes" generation its registration made), renews heartbeat_at at each look, and deletes its row
-- when it stops cleanly; it is live while heartbeat_at is younger than EGGBOT_LEASE_TTL. seen: the
-- newest registration it has applied its share for, so a newcomer knows when the others made room.
-- Times are ISO text in UTC (this machine's clock is the database's).
CREATE TABLE processes (
    owner        TEXT    PRIMARY KEY,
    seat         TEXT    NOT NULL,
    number       INTEGER NOT NULL,
    seen         INTEGER NOT NULL,
    started_at   TEXT    NOT NULL,
    heartbeat_at TEXT    NOT NULL
) WITHOUT ROWID;

-- What a 429 or 503 told one process, for all of them: requests wait until paused_until, and each
-- new slowdown (a 429) halves every process's rate once. One row (id 1), written at the first one.
CREATE TABLE request_budget (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    paused_until TEXT,
    slowdowns    INTEGER NOT NULL
);
