-- Tasks: one row per /imagine job, written before anything is sent to EggAPI.
CREATE TABLE tasks (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id           INTEGER,
    channel_id         INTEGER NOT NULL,
    member_id          INTEGER NOT NULL,
    interaction_id     INTEGER,
    prompt             TEXT    NOT NULL,
    negative_prompt    TEXT,
    aspect_ratio       TEXT,
    count              INTEGER NOT NULL CHECK (count BETWEEN 1 AND 4),
    resolution         TEXT,
    reference_urls     TEXT    NOT NULL DEFAULT '[]',
    status             TEXT    NOT NULL,
    egg_task_id        TEXT    UNIQUE,
    upstream_status    TEXT,
    cost               TEXT,
    error              TEXT,
    output_urls        TEXT    NOT NULL DEFAULT '[]',
    status_message_id  INTEGER,
    result_message_ids TEXT    NOT NULL DEFAULT '[]',
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    submitted_at       TEXT,
    finished_at        TEXT,
    delivered_at       TEXT
);

CREATE INDEX tasks_open ON tasks (status)
    WHERE status NOT IN ('delivered', 'failed', 'rejected', 'undeliverable', 'cancelled');
CREATE INDEX tasks_by_member ON tasks (guild_id, member_id, created_at);

-- Small key/value facts the bot keeps between runs (e.g. the synced command hash).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
