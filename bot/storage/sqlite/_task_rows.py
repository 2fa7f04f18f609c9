"""What every part of the SQLite ``TaskRepository`` shares: a tasks row as a ``TaskRecord``, the open statuses."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.clock import from_iso
from bot.lifecycle.model import TaskRecord, TaskStatus

log = logging.getLogger(__name__)

# Written out rather than bound, so SQLite can use the partial indexes on open tasks (their WHERE).
OPEN = "status NOT IN ('delivered', 'failed', 'rejected', 'undeliverable', 'cancelled')"


def marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _dt(value: str | None) -> datetime | None:
    return None if value is None else from_iso(value)


def row_to_task(row: sqlite3.Row | Mapping[str, Any]) -> TaskRecord:
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
        cost=None if row["cost"] is None else Decimal(row["cost"]),
        error=row["error"],
        output_urls=tuple(json.loads(row["output_urls"])),
        status_message_id=row["status_message_id"],
        result_message_ids=tuple(int(m) for m in json.loads(row["result_message_ids"])),
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
        submitted_at=_dt(row["submitted_at"]),
        finished_at=_dt(row["finished_at"]),
        delivered_at=_dt(row["delivered_at"]),
        hidden=bool(row["hidden"]),
        upload_limit=row["upload_limit"],
        stale_at=_dt(row["stale_at"]),
        delivery_nonce=row["delivery_nonce"],
        rerouted=row["rerouted"],
        origin_task_id=row["origin_task_id"],
        origin_kind=row["origin_kind"],
        origin_image=row["origin_image"],
        locale=row["locale"],
        interaction_id=row["interaction_id"],
    )


class TaskSql:
    """One SQLite connection inside the caller's transaction, and reads of whole tasks (the base of each part)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()  # stepped to the end: none left open at COMMIT

    def _tasks(self, sql: str, params: Sequence[Any] = ()) -> list[TaskRecord]:
        return [row_to_task(row) for row in self._rows(sql, params)]

    def _one(self, sql: str, params: Sequence[Any]) -> TaskRecord | None:
        rows = self._rows(sql, params)
        return row_to_task(rows[0]) if rows else None
