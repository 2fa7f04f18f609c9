-- Settlements the bot had to estimate because EggAPI's cost of a completed task was missing or
-- unreadable (price per image x images produced): 1 = estimated, 0 = EggAPI's own cost.
ALTER TABLE ledger_holds ADD COLUMN cost_estimated INTEGER NOT NULL DEFAULT 0
