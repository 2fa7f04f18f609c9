-- Quota ledger (bot/ledger). Money is NUMERIC (exact), times are TIMESTAMPTZ. guild_id 0 stands for DMs.

-- One hold per task: reserved before submit in the task's own transaction, then settled or released.
CREATE TABLE ledger_holds (
    task_id      BIGINT      PRIMARY KEY REFERENCES tasks (id),
    guild_id     BIGINT      NOT NULL,
    member_id    BIGINT      NOT NULL,
    period_start TIMESTAMPTZ NOT NULL,
    reserved     NUMERIC     NOT NULL,
    settled      NUMERIC,
    state        TEXT        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'settled', 'released')),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    closed_at    TIMESTAMPTZ
);

CREATE INDEX ledger_holds_member ON ledger_holds (guild_id, member_id, period_start);
CREATE INDEX ledger_holds_guild ON ledger_holds (guild_id, period_start);
CREATE INDEX ledger_holds_created ON ledger_holds (guild_id, created_at);
CREATE INDEX ledger_holds_active ON ledger_holds (state) WHERE state = 'active';

-- Unit price per model, derived from GET /v1/usage/summary (total_cost / total_units).
CREATE TABLE ledger_prices (
    model      TEXT        PRIMARY KEY,
    unit_price NUMERIC     NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Account-wide facts from the last usage summary (one row, id 1).
CREATE TABLE ledger_account (
    id         INTEGER     PRIMARY KEY CHECK (id = 1),
    usage_cost NUMERIC     NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Per-guild overrides of the bot defaults. NULL columns fall back to the defaults.
CREATE TABLE ledger_guilds (
    guild_id     BIGINT      PRIMARY KEY,
    member_limit NUMERIC,
    period       TEXT CHECK (period IS NULL OR period IN ('day', 'week', 'month')),
    timezone     TEXT,
    server_cap   NUMERIC,
    paused       BOOLEAN     NOT NULL DEFAULT FALSE,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- Role overrides: a per-member limit for holders of the role, and/or exemption from it.
CREATE TABLE ledger_role_limits (
    guild_id     BIGINT      NOT NULL,
    role_id      BIGINT      NOT NULL,
    member_limit NUMERIC,
    exempt       BOOLEAN     NOT NULL DEFAULT FALSE,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (guild_id, role_id)
);

-- Per-member overrides (win over roles).
CREATE TABLE ledger_member_limits (
    guild_id     BIGINT      NOT NULL,
    member_id    BIGINT      NOT NULL,
    member_limit NUMERIC     NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (guild_id, member_id)
);
