-- Settlements the bot had to estimate because EggAPI's cost of a completed task was missing or
-- unreadable (price per image x images produced): 1 = estimated, 0 = EggAPI's own cost.
ALTER TABLE ledger_holds ADD COLUMN cost_estimated INTEGER NOT NULL DEFAULT 0;

-- The price per image each recent completed task's own cost shows (cost / images produced): the
-- newest ones price new holds, so a price rise shows at once instead of in the summary's average.
CREATE TABLE ledger_task_prices (
    task_id    INTEGER PRIMARY KEY REFERENCES tasks (id),
    model      TEXT NOT NULL,
    unit_price TEXT NOT NULL,
    learned_at TEXT NOT NULL
);

CREATE INDEX ledger_task_prices_recent ON ledger_task_prices (model, learned_at)
