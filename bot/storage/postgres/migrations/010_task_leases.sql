-- Several bot processes share the work (bot/lifecycle/leases.py). A process follows an unfinished task
-- only while it holds the task's lease: lease_owner is that process's id, lease_until when the lease
-- lapses unless renewed (the server's clock, so hosts whose clocks differ agree). NULL: nobody holds
-- it (before leases, or released by a process that stopped cleanly); the next process to look takes it.
ALTER TABLE tasks ADD COLUMN lease_owner TEXT;
ALTER TABLE tasks ADD COLUMN lease_until TIMESTAMPTZ;
CREATE INDEX tasks_by_lease ON tasks (lease_owner, lease_until)
    WHERE status NOT IN ('delivered', 'failed', 'rejected', 'undeliverable', 'cancelled');

-- Webhooks that reached a process other than the one following their task: kept until the owner
-- acts on them (it looks every EGGBOT_LEASE_CHECK_INTERVAL), or pruned when they match no task.
CREATE TABLE task_hints (
    egg_task_id TEXT        PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL
);

-- Generation numbers of what processes keep in memory (guild settings, the ledger's policy and
-- prices): every write of them adds one, so another process sees that its copy is stale.
CREATE TABLE generations (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
