"""What every part of the PostgreSQL ``TaskRepository`` shares: a tasks row as a ``TaskRecord``, the open statuses."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from bot.lifecycle.model import TaskRecord, TaskStatus

from ._bridge import Bridge, Row
from ._locks import Locks

log = logging.getLogger(__name__)

# Written out rather than bound, so PostgreSQL can use the partial indexes on open tasks (their WHERE).
OPEN = "status NOT IN ('delivered', 'failed', 'rejected', 'undeliverable', 'cancelled')"


def values(states: Iterable[TaskStatus]) -> list[str]:
    return [s.value for s in states]


def row_to_task(row: Row) -> TaskRecord:
    """Build a TaskRecord from a tasks row."""
    return TaskRecord(
        id=int(row["id"]),
        guild_id=row["guild_id"],
        channel_id=int(row["channel_id"]),
        member_id=int(row["member_id"]),
        prompt=row["prompt"],
        negative_prompt=row["negative_prompt"],
        aspect_ratio=row["aspect_ratio"],
        count=int(row["count"]),
        resolution=row["resolution"],
        reference_urls=tuple(json.loads(row["reference_urls"])),
        status=TaskStatus(row["status"]),
        egg_task_id=row["egg_task_id"],
        upstream_status=row["upstream_status"],
        cost=row["cost"],
        error=row["error"],
        output_urls=tuple(json.loads(row["output_urls"])),
        status_message_id=row["status_message_id"],
        result_message_ids=tuple(int(m) for m in json.loads(row["result_message_ids"])),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        submitted_at=row["submitted_at"],
        finished_at=row["finished_at"],
        delivered_at=row["delivered_at"],
        hidden=bool(row["hidden"]),
        upload_limit=row["upload_limit"],
        stale_at=row["stale_at"],
        delivery_nonce=row["delivery_nonce"],
        rerouted=row["rerouted"],
        origin_task_id=row["origin_task_id"],
        origin_kind=row["origin_kind"],
        origin_image=row["origin_image"],
        locale=row["locale"],
        interaction_id=row["interaction_id"],
    )


class TaskSql:
    """One PostgreSQL transaction's connection and locks, and reads of whole tasks (the base of each part)."""

    __slots__ = ("_db", "_locks")

    def __init__(self, db: Bridge, locks: Locks) -> None:
        self._db = db
        self._locks = locks

    def _tasks(self, sql: str, *args: Any) -> list[TaskRecord]:
        return [row_to_task(row) for row in self._db.fetch(sql, *args)]

    def _one(self, sql: str, *args: Any) -> TaskRecord | None:
        row = self._db.fetchrow(sql, *args)
        return None if row is None else row_to_task(row)
