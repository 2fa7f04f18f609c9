"""How a task ended without images, recorded with its hold and told to its member.

The tracker decides *that* a task failed, was refused, never landed or was released by the
operator; this records it (the task's state and its hold in one transaction) and tells the
member once: the status message becomes the notice (a separate one only when it cannot be edited).
"""

from __future__ import annotations

import logging

from bot.clock import utcnow
from bot.eggapi import EggTask
from bot.i18n import Text
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.ports import Publisher
from bot.lifecycle.status_board import StatusBoard
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper

log = logging.getLogger(__name__)

# A task the operator released (``python -m bot unconfirmed release``), and once its member was told.
RELEASED = "RELEASED_BY_OPERATOR"
RELEASED_TOLD = "RELEASED_BY_OPERATOR_TOLD"  # the member was told (once, by whichever bot process saw it first)
RELEASED_TEXT = Text("service.released")


class Outcomes:
    """Ends tasks that produced nothing and tells their members."""

    def __init__(self, store: TaskStore, books: Bookkeeper, board: StatusBoard, publisher: Publisher) -> None:
        self._store = store
        self._books = books
        self._board = board
        self._publisher = publisher

    async def end_without_images(
        self,
        task: TaskRecord,
        expected: TaskStatus,
        status: TaskStatus,
        error: str | None,
        reason: Text,
        egg: EggTask | None = None,
    ) -> bool:
        """Record a task that produced nothing and tell the member why (the reason is member-safe).

        False if the task had moved on (nothing recorded, nobody told).
        """
        changes: dict[str, object] = {"error": error, "finished_at": utcnow()}
        if egg is not None:
            changes["upstream_status"] = egg.status
        cost = egg.cost if egg is not None else None
        if not await self._books.end_without_output(task.id, expected, status, cost, **changes):
            return False
        ended = await self._store.get(task.id) or task  # as recorded: its cost decides what the member reads
        await self._tell_failed(ended, reason)
        return True

    async def released(self, task: TaskRecord) -> None:
        """The operator released an unconfirmed task: tell its member, once whichever process sees it first."""
        if task.status is not TaskStatus.REJECTED or task.error != RELEASED:
            return
        if not await self._store.replace_error(task.id, TaskStatus.REJECTED, RELEASED, RELEASED_TOLD):
            return  # told already (by another run of the step, or before a restart)
        await self._tell_failed(task, RELEASED_TEXT)

    async def mark_stale(self, task: TaskRecord, running_for: float) -> None:
        """Once per task: record that it is stuck upstream and tell the member; polling goes on."""
        if task.stale_at is not None:
            return
        await self._store.update(task.id, stale_at=utcnow())
        log.warning(
            "task %s: EggAPI task %s still %s after %.0f s; marked stale",
            task.id,
            task.egg_task_id,
            task.upstream_status,
            running_for,
        )
        try:
            await self._publisher.announce_stale(task)
        except Exception:
            log.exception("task %s: could not tell the member the task is stale", task.id)

    async def _tell_failed(self, task: TaskRecord, reason: Text) -> None:
        await self._board.release(task)
        try:
            await self._publisher.announce_failure(task, reason)
        except Exception:
            log.exception("task %s: could not tell the member about the failure", task.id)
