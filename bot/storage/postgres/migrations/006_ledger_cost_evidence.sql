-- Settlements the bot had to estimate because EggAPI's cost of a completed task was missing or
-- unreadable (price per image x images produced).
ALTER TABLE ledger_holds ADD COLUMN cost_estimated BOOLEAN NOT NULL DEFAULT FALSE;

-- The price per image each recent completed task's own cost shows (cost / images produced): the
-- newest ones price new holds, so a price rise shows at once instead of in the summary's average.
CREATE TABLE ledger_task_prices (
    task_id    BIGINT      PRIMARY KEY REFERENCES tasks (id),
    model      TEXT        NOT NULL,
    unit_price NUMERIC     NOT NULL,
    learned_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX ledger_task_prices_recent ON ledger_task_prices (model, learned_at);
