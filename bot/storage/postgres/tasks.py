"""SQL for the ``tasks`` and ``posted_images`` tables (``TaskRepository``), PostgreSQL dialect."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.clock import require_aware
from bot.lifecycle.model import ImagineRequest, TaskRecord, TaskStatus
from bot.storage.task_repository import changed_columns

from ._task_rows import row_to_task, values
from .leases import TaskLeases
from .queue import TaskQueue

log = logging.getLogger(__name__)

_JSON_COLUMNS = frozenset({"output_urls", "reference_urls", "result_message_ids"})


def _encode(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS:
        return json.dumps(list(value))
    if column == "hidden":
        return bool(value)
    if column == "cost" and value is not None:
        return Decimal(value)
    if isinstance(value, datetime):
        return require_aware(value)
    return value


class PostgresTasks(TaskLeases, TaskQueue):
    """``TaskRepository`` over one PostgreSQL transaction (see ``database`` for the isolation it runs at).

    Its leases (``leases``) and the counts the queue decides on (``queue``) are written beside it.
    """

    __slots__ = ()

    def insert(self, req: ImagineRequest, status: TaskStatus, now: datetime) -> TaskRecord:
        stamp = require_aware(now)
        row = self._db.fetchrow(
            """INSERT INTO tasks (guild_id, channel_id, member_id, interaction_id, prompt, negative_prompt,
                   aspect_ratio, count, resolution, reference_urls, status, created_at, updated_at, upload_limit,
                   origin_task_id, origin_kind, origin_image, locale)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, $17) RETURNING *""",
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
            req.upload_limit,
            req.origin_task_id,
            req.origin_kind,
            req.origin_image,
            req.locale,
        )
        assert row is not None
        return row_to_task(row)

    def get(self, task_id: int) -> TaskRecord | None:
        return self._one("SELECT * FROM tasks WHERE id = $1", task_id)

    def get_by_egg_id(self, egg_task_id: str) -> TaskRecord | None:
        return self._one("SELECT * FROM tasks WHERE egg_task_id = $1", egg_task_id)

    def count_by_status(self) -> dict[TaskStatus, int]:
        rows = self._db.fetch("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status")
        return {TaskStatus(row["status"]): int(row["n"]) for row in rows}

    def member_page(
        self, guild_id: int | None, member_id: int, *, before: int | None, after: int | None, limit: int
    ) -> list[TaskRecord]:
        sql = "SELECT * FROM tasks WHERE guild_id IS NOT DISTINCT FROM $1 AND member_id = $2"
        if after is not None:
            return self._tasks(f"{sql} AND id > $3 ORDER BY id LIMIT $4", guild_id, member_id, after, limit)[::-1]
        if before is not None:
            return self._tasks(f"{sql} AND id < $3 ORDER BY id DESC LIMIT $4", guild_id, member_id, before, limit)
        return self._tasks(f"{sql} ORDER BY id DESC LIMIT $3", guild_id, member_id, limit)

    def count_member(self, guild_id: int | None, member_id: int, *, above: int | None = None) -> int:
        sql = "SELECT COUNT(*) FROM tasks WHERE guild_id IS NOT DISTINCT FROM $1 AND member_id = $2"
        if above is None:
            return int(self._db.fetchval(sql, guild_id, member_id) or 0)
        return int(self._db.fetchval(f"{sql} AND id > $3", guild_id, member_id, above) or 0)

    def ids_by_interaction(self, interaction_id: int, status: TaskStatus) -> list[int]:
        rows = self._db.fetch(
            "SELECT id FROM tasks WHERE interaction_id = $1 AND status = $2", interaction_id, status.value
        )
        return [int(row["id"]) for row in rows]

    def list_in_states(self, states: Iterable[TaskStatus]) -> list[TaskRecord]:
        return self._tasks("SELECT * FROM tasks WHERE status = ANY($1::text[]) ORDER BY id", values(states))

    def list_with_status_message(self, status: TaskStatus, delivered_since: datetime) -> list[TaskRecord]:
        return self._tasks(
            "SELECT * FROM tasks WHERE status = $1 AND status_message_id IS NOT NULL AND delivered_at >= $2 "
            "ORDER BY id",
            status.value,
            require_aware(delivered_since),
        )

    def list_not_in_states(self, states: Iterable[TaskStatus]) -> list[TaskRecord]:
        return self._tasks("SELECT * FROM tasks WHERE status <> ALL($1::text[]) ORDER BY id", values(states))

    def list_with_error(self, status: TaskStatus, error: str) -> list[TaskRecord]:
        return self._tasks("SELECT * FROM tasks WHERE status = $1 AND error = $2 ORDER BY id", status.value, error)

    def list_by_delivery_nonce(self, nonce: str) -> list[TaskRecord]:
        return self._tasks("SELECT * FROM tasks WHERE delivery_nonce = $1 ORDER BY id", nonce)

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
        sets = ["status = $1", "updated_at = $2"] + [f"{column} = ${n}" for n, column in enumerate(columns, 5)]
        args = [new.value, require_aware(now), task_id, values(expected)]
        args += [_encode(column, changes[column]) for column in columns]
        fence = ""
        if owner is not None:
            args.append(owner)
            fence = f" AND lease_owner = ${len(args)}"
        # A guarded write: under READ COMMITTED a concurrent mover's commit is waited for and the
        # status re-checked on the row it left, so only one of them moves the task. The lease's
        # owner is re-checked the same way, so a move and a takeover of the lease never both apply.
        changed = self._db.execute(
            f"UPDATE tasks SET {', '.join(sets)} WHERE id = $3 AND status = ANY($4::text[]){fence}", *args
        )
        return changed == 1

    def update(self, task_id: int, now: datetime, changes: Mapping[str, Any]) -> None:
        columns = changed_columns(changes)
        sets = "".join(f"{column} = ${n}, " for n, column in enumerate(columns, 3))
        self._db.execute(
            f"UPDATE tasks SET {sets}updated_at = $1 WHERE id = $2",
            require_aware(now),
            task_id,
            *(_encode(column, changes[column]) for column in columns),
        )

    def hide(self, task_id: int, states: Iterable[TaskStatus], now: datetime) -> bool:
        changed = self._db.execute(
            "UPDATE tasks SET hidden = TRUE, status_message_id = NULL, updated_at = $1 "
            "WHERE id = $2 AND status = ANY($3::text[])",
            require_aware(now),
            task_id,
            values(states),
        )
        return changed == 1

    def replace_error(self, task_id: int, status: TaskStatus, old: str, new: str, now: datetime) -> bool:
        changed = self._db.execute(
            "UPDATE tasks SET error = $1, updated_at = $2 WHERE id = $3 AND status = $4 AND error = $5",
            new,
            require_aware(now),
            task_id,
            status.value,
            old,
        )
        return changed == 1

    def reroute(self, task_id: int, *, status: TaskStatus, hidden: bool, reason: str, now: datetime) -> bool:
        changed = self._db.execute(
            "UPDATE tasks SET hidden = $1, rerouted = $2, delivery_nonce = NULL, updated_at = $3 "
            "WHERE id = $4 AND status = $5 AND rerouted IS NULL",
            hidden,
            reason,
            require_aware(now),
            task_id,
            status.value,
        )
        if changed != 1:
            return False
        self._db.execute("DELETE FROM posted_images WHERE task_id = $1", task_id)
        return True

    def bind_delivery_nonce(self, task_ids: Sequence[int], nonce: str) -> None:
        self._db.execute("UPDATE tasks SET delivery_nonce = $1 WHERE id = ANY($2::bigint[])", nonce, list(task_ids))

    def posted_images(self, task_id: int) -> dict[int, int]:
        rows = self._db.fetch("SELECT image_index, message_id FROM posted_images WHERE task_id = $1", task_id)
        return {int(row["image_index"]): int(row["message_id"]) for row in rows}

    def record_posted(self, task_id: int, message_id: int, indexes: Iterable[int]) -> None:
        self._db.executemany(
            "INSERT INTO posted_images (task_id, image_index, message_id) VALUES ($1, $2, $3) "
            "ON CONFLICT (task_id, image_index) DO UPDATE SET message_id = excluded.message_id",
            [(task_id, index, message_id) for index in indexes],
        )

    def member_tasks(self, guild_id: int | None, member_id: int) -> list[TaskRecord]:
        return self._tasks(
            "SELECT * FROM tasks WHERE guild_id IS NOT DISTINCT FROM $1 AND member_id = $2 ORDER BY id",
            guild_id,
            member_id,
        )

    def erase_member_tasks(
        self, guild_id: int | None, member_id: int, states: Iterable[TaskStatus], placeholder: str, now: datetime
    ) -> int:
        rows = self._db.fetch(
            "SELECT id FROM tasks WHERE guild_id IS NOT DISTINCT FROM $1 AND member_id = $2 "
            "AND status = ANY($3::text[]) FOR UPDATE",
            guild_id,
            member_id,
            values(states),
        )
        ids = [int(row["id"]) for row in rows]
        if not ids:
            return 0
        # Output links become empty strings, as many as there were (reports count images by them).
        self._db.execute(
            """UPDATE tasks SET prompt = $1, negative_prompt = NULL, reference_urls = '[]',
                   output_urls = COALESCE((SELECT jsonb_agg(''::text) FROM jsonb_array_elements(output_urls)), '[]'),
                   status_message_id = NULL, result_message_ids = '[]', updated_at = $2
               WHERE id = ANY($3::bigint[])""",
            placeholder,
            require_aware(now),
            ids,
        )
        self._db.execute("DELETE FROM posted_images WHERE task_id = ANY($1::bigint[])", ids)
        return len(ids)
