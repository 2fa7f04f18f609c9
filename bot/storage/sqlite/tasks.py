"""SQL for the ``tasks`` and ``posted_images`` tables (``TaskRepository``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.clock import to_iso
from bot.lifecycle.model import ImagineRequest, TaskRecord, TaskStatus
from bot.storage.task_repository import changed_columns

from ._task_rows import marks, row_to_task
from .leases import TaskLeases
from .queue import TaskQueue

log = logging.getLogger(__name__)

_POSTED_INSERT = "INSERT OR REPLACE INTO posted_images (task_id, image_index, message_id) VALUES (?, ?, ?)"
_JSON_COLUMNS = frozenset({"output_urls", "reference_urls", "result_message_ids"})


def _encode(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS:
        return json.dumps(list(value))
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return to_iso(value)
    return value


class SqliteTasks(TaskLeases, TaskQueue):
    """``TaskRepository`` over one SQLite connection, inside the caller's transaction.

    Its leases (``leases``) and the counts the queue decides on (``queue``) are written beside it.
    """

    __slots__ = ()

    def insert(self, req: ImagineRequest, status: TaskStatus, now: datetime) -> TaskRecord:
        stamp = to_iso(now)
        [row] = self._rows(
            """INSERT INTO tasks (guild_id, channel_id, member_id, interaction_id, prompt, negative_prompt,
                   aspect_ratio, count, resolution, reference_urls, status, created_at, updated_at, upload_limit,
                   origin_task_id, origin_kind, origin_image, locale)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *""",
            (
                req.guild_id,
                req.channel_id,
                req.member_id,
                req.interaction_id,
                req.prompt,
                req.negative_prompt,
                req.aspect_ratio,
                req.count,
                req.resolution,
                json.dumps(list(req.reference_urls)),
                status.value,
                stamp,
                stamp,
                req.upload_limit,
                req.origin_task_id,
                req.origin_kind,
                req.origin_image,
                req.locale,
            ),
        )
        return row_to_task(row)

    def get(self, task_id: int) -> TaskRecord | None:
        return self._one("SELECT * FROM tasks WHERE id = ?", (task_id,))

    def get_by_egg_id(self, egg_task_id: str) -> TaskRecord | None:
        return self._one("SELECT * FROM tasks WHERE egg_task_id = ?", (egg_task_id,))

    def count_by_status(self) -> dict[TaskStatus, int]:
        rows = self._rows("SELECT status, COUNT(*) FROM tasks GROUP BY status")
        return {TaskStatus(row[0]): int(row[1]) for row in rows}

    def ids_by_interaction(self, interaction_id: int, status: TaskStatus) -> list[int]:
        rows = self._rows(
            "SELECT id FROM tasks WHERE interaction_id = ? AND status = ?", (interaction_id, status.value)
        )
        return [int(row["id"]) for row in rows]

    def list_in_states(self, states: Iterable[TaskStatus]) -> list[TaskRecord]:
        wanted = [s.value for s in states]
        return self._tasks(f"SELECT * FROM tasks WHERE status IN ({marks(wanted)}) ORDER BY id", wanted)

    def list_with_status_message(self, status: TaskStatus, delivered_since: datetime) -> list[TaskRecord]:
        return self._tasks(
            "SELECT * FROM tasks WHERE status = ? AND status_message_id IS NOT NULL AND delivered_at >= ? ORDER BY id",
            (status.value, to_iso(delivered_since)),
        )

    def list_not_in_states(self, states: Iterable[TaskStatus]) -> list[TaskRecord]:
        unwanted = [s.value for s in states]
        return self._tasks(f"SELECT * FROM tasks WHERE status NOT IN ({marks(unwanted)}) ORDER BY id", unwanted)

    def list_with_error(self, status: TaskStatus, error: str) -> list[TaskRecord]:
        return self._tasks("SELECT * FROM tasks WHERE status = ? AND error = ? ORDER BY id", (status.value, error))

    def list_by_delivery_nonce(self, nonce: str) -> list[TaskRecord]:
        return self._tasks("SELECT * FROM tasks WHERE delivery_nonce = ? ORDER BY id", (nonce,))

    def move(
        self,
        task_id: int,
        expected: Sequence[TaskStatus],
        new: TaskStatus,
        now: datetime,
        changes: Mapping[str, Any],
        *,
        owner: str | None = None,
    ) -> bool:
        columns = changed_columns(changes)
        sets = ["status = ?", "updated_at = ?"] + [f"{column} = ?" for column in columns]
        params: list[Any] = [new.value, to_iso(now)]
        params += [_encode(column, changes[column]) for column in columns]
        params.append(task_id)
        params += [old.value for old in expected]
        fence = ""
        if owner is not None:
            fence = " AND lease_owner = ?"
            params.append(owner)
        cur = self._conn.execute(
            f"UPDATE tasks SET {', '.join(sets)} WHERE id = ? AND status IN ({marks(expected)}){fence}",
            params,
        )
        return cur.rowcount == 1

    def update(self, task_id: int, now: datetime, changes: Mapping[str, Any]) -> None:
        columns = changed_columns(changes)
        sets = "".join(f"{column} = ?, " for column in columns)
        params = [_encode(column, changes[column]) for column in columns]
        self._conn.execute(
            f"UPDATE tasks SET {sets}updated_at = ? WHERE id = ?",
            [*params, to_iso(now), task_id],
        )

    def hide(self, task_id: int, states: Iterable[TaskStatus], now: datetime) -> bool:
        wanted = [s.value for s in states]
        cur = self._conn.execute(
            f"UPDATE tasks SET hidden = 1, status_message_id = NULL, updated_at = ? "
            f"WHERE id = ? AND status IN ({marks(wanted)})",
            [to_iso(now), task_id, *wanted],
        )
        return cur.rowcount == 1

    def replace_error(self, task_id: int, status: TaskStatus, old: str, new: str, now: datetime) -> bool:
        cur = self._conn.execute(
            "UPDATE tasks SET error = ?, updated_at = ? WHERE id = ? AND status = ? AND error = ?",
            (new, to_iso(now), task_id, status.value, old),
        )
        return cur.rowcount == 1

    def reroute(self, task_id: int, *, status: TaskStatus, hidden: bool, reason: str, now: datetime) -> bool:
        cur = self._conn.execute(
            "UPDATE tasks SET hidden = ?, rerouted = ?, delivery_nonce = NULL, updated_at = ? "
            "WHERE id = ? AND status = ? AND rerouted IS NULL",
            (int(hidden), reason, to_iso(now), task_id, status.value),
        )
        if cur.rowcount != 1:
            return False
        self._conn.execute("DELETE FROM posted_images WHERE task_id = ?", (task_id,))
        return True

    def bind_delivery_nonce(self, task_ids: Sequence[int], nonce: str) -> None:
        self._conn.execute(
            f"UPDATE tasks SET delivery_nonce = ? WHERE id IN ({marks(task_ids)})",
            [nonce, *task_ids],
        )

    def posted_images(self, task_id: int) -> dict[int, int]:
        rows = self._rows("SELECT image_index, message_id FROM posted_images WHERE task_id = ?", (task_id,))
        return {int(row["image_index"]): int(row["message_id"]) for row in rows}

    def record_posted(self, task_id: int, message_id: int, indexes: Iterable[int]) -> None:
        self._conn.executemany(_POSTED_INSERT, [(task_id, index, message_id) for index in indexes])

    def member_tasks(self, guild_id: int | None, member_id: int) -> list[TaskRecord]:
        return self._tasks(
            "SELECT * FROM tasks WHERE guild_id IS ? AND member_id = ? ORDER BY id", (guild_id, member_id)
        )

    def member_page(
        self, guild_id: int | None, member_id: int, *, before: int | None, after: int | None, limit: int
    ) -> list[TaskRecord]:
        sql, params = "SELECT * FROM tasks WHERE guild_id IS ? AND member_id = ?", [guild_id, member_id]
        if after is not None:
            rows = self._tasks(f"{sql} AND id > ? ORDER BY id LIMIT ?", [*params, after, limit])
            return rows[::-1]
        if before is not None:
            sql += " AND id < ?"
            params.append(before)
        return self._tasks(f"{sql} ORDER BY id DESC LIMIT ?", [*params, limit])

    def count_member(self, guild_id: int | None, member_id: int, *, above: int | None = None) -> int:
        sql, params = "SELECT COUNT(*) FROM tasks WHERE guild_id IS ? AND member_id = ?", [guild_id, member_id]
        if above is not None:
            sql += " AND id > ?"
            params.append(above)
        return int(self._rows(sql, params)[0][0])

    def erase_member_tasks(
        self, guild_id: int | None, member_id: int, states: Iterable[TaskStatus], placeholder: str, now: datetime
    ) -> int:
        wanted = [s.value for s in states]
        rows = self._rows(
            f"SELECT id, output_urls FROM tasks WHERE guild_id IS ? AND member_id = ? AND status IN ({marks(wanted)})",
            (guild_id, member_id, *wanted),
        )
        stamp = to_iso(now)
        for row in rows:
            blanks = json.dumps([""] * len(json.loads(row["output_urls"] or "[]")))
            self._conn.execute(
                "UPDATE tasks SET prompt = ?, negative_prompt = NULL, reference_urls = '[]', output_urls = ?, "
                "status_message_id = NULL, result_message_ids = '[]', updated_at = ? WHERE id = ?",
                (placeholder, blanks, stamp, row["id"]),
            )
            self._conn.execute("DELETE FROM posted_images WHERE task_id = ?", (row["id"],))
        return len(rows)
