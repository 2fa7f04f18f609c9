-- Quota ledger (bot/ledger). Money is TEXT holding an exact decimal string, times are ISO 8601 UTC.
-- guild_id 0 stands for direct messages.

-- One hold per task: reserved before submit in the task's own transaction, then settled or released.
CREATE TABLE ledger_holds (
    task_id      INTEGER PRIMARY KEY REFERENCES tasks (id),
    guild_id     INTEGER NOT NULL,
    member_id    INTEGER NOT NULL,
    period_start TEXT    NOT NULL,
    reserved     TEXT    NOT NULL,
    settled      TEXT,
    state        TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'settled', 'released')),
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    closed_at    TEXT
);

CREATE INDEX ledger_holds_member ON ledger_holds (guild_id, member_id, period_start);
CREATE INDEX ledger_holds_guild ON ledger_holds (guild_id, period_start);
CREATE INDEX ledger_holds_created ON ledger_holds (guild_id, created_at);
CREATE INDEX ledger_holds_active ON ledger_holds (state) WHERE state = 'active';

-- Unit price per model, derived from GET /v1/usage/summary (total_cost / total_units).
CREATE TABLE ledger_prices (
    model      TEXT PRIMARY KEY,
    unit_price TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Account-wide facts from the last usage summary (one row, id 1).
CREATE TABLE ledger_account (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    usage_cost TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Per-guild overrides of the bot defaults. NULL columns fall back to the defaults.
CREATE TABLE ledger_guilds (
    guild_id     INTEGER PRIMARY KEY,
    member_limit TEXT,
    period       TEXT CHECK (period IS NULL OR period IN ('day', 'week', 'month')),
    timezone     TEXT,
    server_cap   TEXT,
    paused       INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT    NOT NULL
);

-- Role overrides: a per-member limit for holders of the role, and/or exemption from it.
CREATE TABLE ledger_role_limits (
    guild_id     INTEGER NOT NULL,
    role_id      INTEGER NOT NULL,
    member_limit TEXT,
    exempt       INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (guild_id, role_id)
);

-- Per-member overrides (win over roles).
CREATE TABLE ledger_member_limits (
    guild_id     INTEGER NOT NULL,
    member_id    INTEGER NOT NULL,
    member_limit TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (guild_id, member_id)
);
