-- Delivery details: hidden jobs go to the member by DM, the channel's upload limit at request time,
-- and when a member was told that a job is stuck upstream.
ALTER TABLE tasks ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tasks ADD COLUMN upload_limit BIGINT;
ALTER TABLE tasks ADD COLUMN stale_at TIMESTAMPTZ;
