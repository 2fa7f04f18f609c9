-- Moderators' one-off changes to a member's budget for one period (bot/ledger): a top-up adds to what
-- the member may spend (not to their limit); a reset forgives what they had settled so far. Both
-- count in the period of their creation, as holds do, and end with it. Money is TEXT (exact decimal).
CREATE TABLE ledger_adjustments (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    member_id    INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('topup', 'reset')),
    amount       TEXT    NOT NULL,
    moderator_id INTEGER NOT NULL,
    period_start TEXT    NOT NULL,
    created_at   TEXT    NOT NULL
);

CREATE INDEX ledger_adjustments_member ON ledger_adjustments (guild_id, member_id, period_start);
CREATE INDEX ledger_adjustments_created ON ledger_adjustments (guild_id, created_at)
