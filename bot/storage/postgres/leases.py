"""SQL for the tasks' leases and the webhooks kept for other processes (``TaskRepository``), PostgreSQL dialect.

The server's clock (``clock_timestamp()``, not the transaction's start) decides when a lease lapses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.lifecycle.model import TaskRecord

from ._task_rows import OPEN, TaskSql

log = logging.getLogger(__name__)

_LATER = "clock_timestamp() + $2 * interval '1 second'"  # a lease's end: $2 seconds from now


def _free(seat: str | None, owner: str, *, first: int) -> tuple[str, list[Any]]:
    """The condition of a lease another process may take, its parameters numbered from ``first``."""
    sql = "lease_owner IS NULL OR lease_until IS NULL OR lease_until <= clock_timestamp()"
    if seat is None:
        return sql, []
    prefix = f"{seat}/"
    sql += f" OR (left(lease_owner, ${first}) = ${first + 1} AND lease_owner <> ${first + 2})"
    return sql, [len(prefix), prefix, owner]


class TaskLeases(TaskSql):
    """Which process follows each unfinished task, and the webhooks kept for it."""

    __slots__ = ()

    def grant_lease(self, task_id: int, owner: str, ttl: float) -> None:
        self._db.execute(
            f"UPDATE tasks SET lease_owner = $1, lease_until = {_LATER} WHERE id = $3", owner, float(ttl), task_id
        )

    def claim_leases(self, owner: str, ttl: float, *, limit: int, seat: str | None = None) -> list[TaskRecord]:
        # SKIP LOCKED: a task another process is claiming, renewing or moving right now is left to it.
        free, extra = _free(seat, owner, first=4)
        claimed = self._tasks(
            f"UPDATE tasks SET lease_owner = $1, lease_until = {_LATER} WHERE id IN "
            f"(SELECT id FROM tasks WHERE {OPEN} AND ({free}) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) "
            "RETURNING *",
            owner,
            float(ttl),
            limit,
            *extra,
        )
        return sorted(claimed, key=lambda task: task.id)

    def renew_leases(self, owner: str, ttl: float, task_ids: Sequence[int] | None = None) -> list[int]:
        sql = f"UPDATE tasks SET lease_until = {_LATER} WHERE lease_owner = $1 AND {OPEN}"
        args: list[Any] = [owner, float(ttl)]
        if task_ids is not None:
            sql += " AND id = ANY($3::bigint[])"
            args.append(list(task_ids))
        return sorted(int(row["id"]) for row in self._db.fetch(f"{sql} RETURNING id", *args))

    def release_leases(self, owner: str) -> int:
        return self._db.execute(
            f"UPDATE tasks SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 AND {OPEN}", owner
        )

    def lease_work(self, owner: str) -> tuple[bool, bool]:
        free, extra = _free(None, owner, first=2)
        row = self._db.fetchrow(
            f"SELECT EXISTS (SELECT 1 FROM tasks WHERE {OPEN} AND ({free})) AS free, "
            "EXISTS (SELECT 1 FROM task_hints JOIN tasks USING (egg_task_id) WHERE tasks.lease_owner = $1) AS hinted",
            owner,
            *extra,
        )
        assert row is not None
        return bool(row["free"]), bool(row["hinted"])

    def add_hint(self, egg_task_id: str, *, keep: int) -> bool:
        changed = self._db.execute(
            "INSERT INTO task_hints (egg_task_id, received_at) SELECT $1, clock_timestamp() "
            "WHERE (SELECT COUNT(*) FROM task_hints) < $2 "
            "ON CONFLICT (egg_task_id) DO UPDATE SET received_at = excluded.received_at",
            egg_task_id,
            keep,
        )
        return changed == 1

    def take_hints(self, owner: str) -> list[str]:
        rows = self._db.fetch(
            "DELETE FROM task_hints AS h USING tasks AS t WHERE t.egg_task_id = h.egg_task_id AND t.lease_owner = $1 "
            "RETURNING h.egg_task_id",
            owner,
        )
        return [str(row["egg_task_id"]) for row in rows]

    def prune_hints(self, older_than: float) -> int:
        return self._db.execute(
            "DELETE FROM task_hints WHERE received_at < clock_timestamp() - $1 * interval '1 second'",
            float(older_than),
        )
