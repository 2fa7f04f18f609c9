-- Delivery details: hidden jobs go to the member by DM, the channel's upload limit at request time,
-- and when a member was told that a job is stuck upstream.
ALTER TABLE tasks ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN upload_limit INTEGER;
ALTER TABLE tasks ADD COLUMN stale_at TEXT
