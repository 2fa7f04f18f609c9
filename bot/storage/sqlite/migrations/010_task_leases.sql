-- Several bot processes share the work (bot/lifecycle/leases.py). A process follows an unfinished task
-- only while it holds the task's lease: lease_owner is that process's id, lease_until when the lease
-- lapses unless renewed (ISO text in UTC, as every time here). NULL: nobody holds it (before leases,
-- or released by a process that stopped cleanly); such a task is taken by the next process to look.
ALTER TABLE tasks ADD COLUMN lease_owner TEXT;
ALTER TABLE tasks ADD COLUMN lease_until TEXT;
CREATE INDEX tasks_by_lease ON tasks (lease_owner, lease_until)
    WHERE status NOT IN ('delivered', 'failed', 'rejected', 'undeliverable', 'cancelled');

-- Webhooks that reached a process other than the one following their task: kept until the owner
-- acts on them (it looks every EGGBOT_LEASE_CHECK_INTERVAL), or pruned when they match no task.
CREATE TABLE task_hints (
    egg_task_id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
) WITHOUT ROWID;

-- Generation numbers of what processes keep in memory (guild settings, the ledger's policy and
-- prices): every write of them adds one, so another process sees that its copy is stale.
CREATE TABLE generations (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
