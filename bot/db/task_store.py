"""The tasks table: insert, read and guarded state changes."""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.db import Database, Tx
from bot.lifecycle.model import TERMINAL, ImagineRequest, TaskRecord, TaskStatus, can_move

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Listener = Callable[[int, TaskStatus], None]

# Columns a state change may set besides status; anything else is a programming error.
_UPDATABLE = frozenset(
    {
        "egg_task_id",
        "upstream_status",
        "cost",
        "error",
        "output_urls",
        "status_message_id",
        "result_message_ids",
        "submitted_at",
        "finished_at",
        "delivered_at",
        "hidden",
        "stale_at",
    }
)
_POSTED_INSERT = "INSERT OR REPLACE INTO posted_images (task_id, image_index, message_id) VALUES (?, ?, ?)"
_JSON_COLUMNS = frozenset({"output_urls", "result_message_ids"})


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _encode(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS:
        return json.dumps(list(value))
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _iso(value)
    return value


def row_to_task(row: sqlite3.Row | Mapping[str, Any]) -> TaskRecord:
    """Build a TaskRecord from a tasks row."""
    created = _dt(row["created_at"])
    updated = _dt(row["updated_at"])
    assert created is not None and updated is not None
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
        created_at=created,
        updated_at=updated,
        submitted_at=_dt(row["submitted_at"]),
        finished_at=_dt(row["finished_at"]),
        delivered_at=_dt(row["delivered_at"]),
        hidden=bool(row["hidden"]),
        upload_limit=row["upload_limit"],
        stale_at=_dt(row["stale_at"]),
        delivery_nonce=row["delivery_nonce"],
        rerouted=row["rerouted"],
    )


class TaskStore:
    """Persistence of tasks; every state change is guarded by the expected current state."""

    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(task_id, new_status)`` after every state change (metrics, tests, benchmarks)."""
        self._listeners.append(listener)

    def insert(self, tx: Tx, req: ImagineRequest) -> TaskRecord:
        """Insert a queued task (inside ``Database.transaction``) and return it as recorded."""
        now = _iso(self._clock())
        row = tx.fetchone(
            """INSERT INTO tasks (guild_id, channel_id, member_id, interaction_id, prompt, negative_prompt,
                   aspect_ratio, count, resolution, reference_urls, status, created_at, updated_at, upload_limit)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *""",
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
                TaskStatus.QUEUED.value,
                now,
                now,
                req.upload_limit,
            ),
        )
        assert row is not None
        return row_to_task(row)

    async def bind_delivery_nonce(self, task_ids: list[int], nonce: str) -> None:
        """Record the nonce the tasks' one post carries (before posting, so a repeat can reuse it)."""
        marks = ",".join("?" * len(task_ids))
        await self._db.transaction(
            lambda tx: tx.execute(
                f"UPDATE tasks SET delivery_nonce = ? WHERE id IN ({marks})",  # noqa: S608 - placeholders only
                [nonce, *task_ids],
            )
        )

    async def list_by_delivery_nonce(self, nonce: str) -> list[TaskRecord]:
        """The tasks posted (or being posted) together under this nonce, first task first."""
        rows = await self._db.fetchall("SELECT * FROM tasks WHERE delivery_nonce = ? ORDER BY id", (nonce,))
        return [row_to_task(r) for r in rows]

    async def posted_images(self, task_id: int) -> dict[int, int]:
        """Which of the task's outputs are already posted: output index -> message id."""
        rows = await self._db.fetchall(
            "SELECT image_index, message_id FROM posted_images WHERE task_id = ?", (task_id,)
        )
        return {int(row["image_index"]): int(row["message_id"]) for row in rows}

    async def record_posted(self, task_id: int, message_id: int, indexes: Iterable[int]) -> None:
        """Record that ``message_id`` carries these outputs of the task (as soon as it is posted)."""
        rows = [(task_id, index, message_id) for index in indexes]
        if rows:
            await self._db.transaction(lambda tx: [tx.execute(_POSTED_INSERT, row) for row in rows])

    async def reroute(self, task_id: int, *, hidden: bool, reason: str) -> bool:
        """Send a delivering task's result to the other destination, once; its post starts afresh there."""

        def run(tx: Tx) -> bool:
            cur = tx.execute(
                "UPDATE tasks SET hidden = ?, rerouted = ?, delivery_nonce = NULL, updated_at = ? "
                "WHERE id = ? AND status = ? AND rerouted IS NULL",
                (int(hidden), reason, _iso(self._clock()), task_id, TaskStatus.DELIVERING.value),
            )
            if cur.rowcount != 1:
                return False
            tx.execute("DELETE FROM posted_images WHERE task_id = ?", (task_id,))
            return True

        return await self._db.transaction(run)

    @staticmethod
    def count_queued(tx: Tx, member_id: int) -> int:
        """How many of the member's tasks are waiting to be submitted (inside ``Database.transaction``)."""
        row = tx.fetchone(
            "SELECT COUNT(*) FROM tasks WHERE member_id = ? AND status = ?", (member_id, TaskStatus.QUEUED.value)
        )
        return int(row[0]) if row else 0

    async def create(self, req: ImagineRequest) -> TaskRecord:
        """Record a new queued task in its own transaction."""
        return await self._db.transaction(lambda tx: self.insert(tx, req))

    async def get(self, task_id: int) -> TaskRecord | None:
        """The task with this id, or None."""
        row = await self._db.fetchone("SELECT * FROM tasks WHERE id = ?", (task_id,))
        return None if row is None else row_to_task(row)

    async def queued_for_interaction(self, interaction_id: int) -> list[int]:
        """Ids of the still-queued tasks an interaction created."""
        rows = await self._db.fetchall(
            "SELECT id FROM tasks WHERE interaction_id = ? AND status = ?", (interaction_id, TaskStatus.QUEUED.value)
        )
        return [int(row["id"]) for row in rows]

    async def list_with_error(self, status: TaskStatus, error: str) -> list[TaskRecord]:
        """Every task in ``status`` whose error is ``error``, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM tasks WHERE status = ? AND error = ? ORDER BY id", (status.value, error)
        )
        return [row_to_task(r) for r in rows]

    async def replace_error(self, task_id: int, status: TaskStatus, old: str, new: str) -> bool:
        """Change the error of a task still in ``status`` with error ``old``; False if it was not (a marker, once)."""
        params = (new, _iso(self._clock()), task_id, status.value, old)
        cur = await self._db.transaction(
            lambda tx: tx.execute(
                "UPDATE tasks SET error = ?, updated_at = ? WHERE id = ? AND status = ? AND error = ?", params
            )
        )
        return cur.rowcount == 1

    async def get_by_egg_id(self, egg_task_id: str) -> TaskRecord | None:
        """The task EggAPI knows by this id, or None."""
        row = await self._db.fetchone("SELECT * FROM tasks WHERE egg_task_id = ?", (egg_task_id,))
        return None if row is None else row_to_task(row)

    async def list_unfinished(self) -> list[TaskRecord]:
        """Every task that is not terminal, oldest first (what a restart must resume)."""
        marks = ",".join("?" * len(TERMINAL))
        rows = await self._db.fetchall(
            f"SELECT * FROM tasks WHERE status NOT IN ({marks}) ORDER BY id", [s.value for s in TERMINAL]
        )
        return [row_to_task(r) for r in rows]

    async def hide(self, task_id: int, states: Iterable[TaskStatus]) -> bool:
        """Mark the task hidden (and forget its status message) only while it is in one of ``states``."""
        wanted = [s.value for s in states]
        marks = ",".join("?" * len(wanted))
        params = [_iso(self._clock()), task_id, *wanted]
        cur = await self._db.transaction(
            lambda tx: tx.execute(
                f"UPDATE tasks SET hidden = 1, status_message_id = NULL, updated_at = ? "  # noqa: S608
                f"WHERE id = ? AND status IN ({marks})",
                params,
            )
        )
        return cur.rowcount == 1

    async def list_in_states(self, states: Iterable[TaskStatus]) -> list[TaskRecord]:
        """Every task in one of ``states``, oldest first."""
        wanted = [s.value for s in states]
        marks = ",".join("?" * len(wanted))
        rows = await self._db.fetchall(f"SELECT * FROM tasks WHERE status IN ({marks}) ORDER BY id", wanted)  # noqa: S608
        return [row_to_task(r) for r in rows]

    async def transition(
        self,
        task_id: int,
        expected: TaskStatus | Iterable[TaskStatus],
        new: TaskStatus,
        **changes: Any,
    ) -> bool:
        """Move a task from one of ``expected`` to ``new`` and set ``changes``; False if it was not there."""
        olds = (expected,) if isinstance(expected, TaskStatus) else tuple(expected)
        self.check_transition(olds, new)
        return await self._db.transaction(lambda tx: self.transition_in(tx, task_id, olds, new, **changes))

    @staticmethod
    def check_transition(olds: Iterable[TaskStatus], new: TaskStatus) -> None:
        """Raise ValueError unless every ``old`` may move to ``new`` (staying put is allowed)."""
        bad = [old for old in olds if old != new and not can_move(old, new)]
        if bad:
            raise ValueError(f"illegal transition {bad} -> {new}")

    def transition_in(
        self,
        tx: Tx,
        task_id: int,
        expected: Iterable[TaskStatus],
        new: TaskStatus,
        **changes: Any,
    ) -> bool:
        """Like ``transition`` but inside ``Database.transaction``."""
        olds = tuple(expected)
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update columns {sorted(unknown)}")
        sets = ["status = ?", "updated_at = ?"] + [f"{column} = ?" for column in changes]
        params: list[Any] = [new.value, _iso(self._clock())]
        params += [_encode(column, value) for column, value in changes.items()]
        params.append(task_id)
        params += [old.value for old in olds]
        marks = ",".join("?" * len(olds))
        cur = tx.execute(
            f"UPDATE tasks SET {', '.join(sets)} WHERE id = ? AND status IN ({marks})",  # noqa: S608 - columns whitelisted
            params,
        )
        moved = cur.rowcount == 1
        if not moved:
            log.debug("task %s: not moved to %s (not in %s)", task_id, new, [o.value for o in olds])
            return False
        for listener in self._listeners:  # only once the change is durable: a rollback tells nobody
            tx.after_commit(functools.partial(listener, task_id, new))
        return True

    async def update(self, task_id: int, **changes: Any) -> None:
        """Set columns that are not the status (status message id, upstream status)."""
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update columns {sorted(unknown)}")
        if not changes:
            return
        sets = ", ".join(f"{column} = ?" for column in changes)
        params = [_encode(column, value) for column, value in changes.items()]
        params.append(_iso(self._clock()))
        params.append(task_id)
        await self._db.transaction(
            lambda tx: tx.execute(
                f"UPDATE tasks SET {sets}, updated_at = ? WHERE id = ?",  # noqa: S608 - columns whitelisted
                params,
            )
        )
