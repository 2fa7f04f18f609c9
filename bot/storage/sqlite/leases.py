"""SQL for the tasks' leases and the webhooks kept for other processes (``TaskRepository``), SQLite dialect.

SQLite is one file on one machine, so that machine's clock is the database's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot.clock import to_iso, utcnow
from bot.lifecycle.model import TaskRecord

from ._task_rows import OPEN, TaskSql, marks

log = logging.getLogger(__name__)


def _later(seconds: float) -> str:
    """The stored time ``seconds`` from now (before now when negative)."""
    return to_iso(utcnow() + timedelta(seconds=seconds))


def _free(seat: str | None, owner: str) -> tuple[str, list[Any]]:
    """The condition (and its parameters) of a lease another process may take."""
    sql = "lease_owner IS NULL OR lease_until IS NULL OR lease_until <= ?"
    params: list[Any] = [to_iso(utcnow())]
    if seat is not None:
        prefix = f"{seat}/"
        sql += " OR (substr(lease_owner, 1, ?) = ? AND lease_owner <> ?)"
        params += [len(prefix), prefix, owner]
    return sql, params


class TaskLeases(TaskSql):
    """Which process follows each unfinished task, and the webhooks kept for it."""

    __slots__ = ()

    def grant_lease(self, task_id: int, owner: str, ttl: float) -> None:
        self._conn.execute(
            "UPDATE tasks SET lease_owner = ?, lease_until = ? WHERE id = ?", (owner, _later(ttl), task_id)
        )

    def claim_leases(self, owner: str, ttl: float, *, limit: int, seat: str | None = None) -> list[TaskRecord]:
        # One writer at a time (BEGIN IMMEDIATE): no other process can claim the same rows meanwhile.
        free, params = _free(seat, owner)
        claimed = self._tasks(
            f"UPDATE tasks SET lease_owner = ?, lease_until = ? WHERE id IN "
            f"(SELECT id FROM tasks WHERE {OPEN} AND ({free}) ORDER BY id LIMIT ?) RETURNING *",
            [owner, _later(ttl), *params, limit],
        )
        return sorted(claimed, key=lambda task: task.id)

    def renew_leases(self, owner: str, ttl: float, task_ids: Sequence[int] | None = None) -> list[int]:
        sql = f"UPDATE tasks SET lease_until = ? WHERE lease_owner = ? AND {OPEN}"
        params: list[Any] = [_later(ttl), owner]
        if task_ids is not None:
            sql += f" AND id IN ({marks(task_ids)})"
            params += list(task_ids)
        return sorted(int(row["id"]) for row in self._rows(f"{sql} RETURNING id", params))

    def release_leases(self, owner: str) -> int:
        cur = self._conn.execute(
            f"UPDATE tasks SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND {OPEN}", (owner,)
        )
        return cur.rowcount

    def lease_work(self, owner: str) -> tuple[bool, bool]:
        free, params = _free(None, owner)
        [row] = self._rows(
            f"SELECT EXISTS (SELECT 1 FROM tasks WHERE {OPEN} AND ({free})), "
            "EXISTS (SELECT 1 FROM task_hints JOIN tasks USING (egg_task_id) WHERE tasks.lease_owner = ?)",
            [*params, owner],
        )
        return bool(row[0]), bool(row[1])

    def add_hint(self, egg_task_id: str, *, keep: int) -> bool:
        cur = self._conn.execute(
            "INSERT INTO task_hints (egg_task_id, received_at) SELECT ?, ? "
            "WHERE (SELECT COUNT(*) FROM task_hints) < ? "
            "ON CONFLICT (egg_task_id) DO UPDATE SET received_at = excluded.received_at",
            (egg_task_id, to_iso(utcnow()), keep),
        )
        return cur.rowcount == 1

    def take_hints(self, owner: str) -> list[str]:
        rows = self._rows(
            "SELECT egg_task_id FROM task_hints JOIN tasks USING (egg_task_id) WHERE tasks.lease_owner = ?",
            (owner,),
        )
        hinted = [str(row[0]) for row in rows]
        if hinted:
            self._conn.execute(f"DELETE FROM task_hints WHERE egg_task_id IN ({marks(hinted)})", hinted)
        return hinted

    def prune_hints(self, older_than: float) -> int:
        cur = self._conn.execute("DELETE FROM task_hints WHERE received_at < ?", (_later(-older_than),))
        return cur.rowcount
