"""Unconfirmed submits, for the operator: see them with their upstream candidates, settle them by hand.

The tracker never guesses which EggAPI task an unconfirmed submit became (``bot.lifecycle._reconcile``);
when the evidence stays ambiguous the task waits in ``unknown`` with its hold kept. The
operator, who can see the prompts in EggAPI's own dashboard, settles it here: **adopt** names
the EggAPI task it became (the running bot then follows it like any other and posts its
images), **release** records that it produced nothing the member should pay for (its hold is
freed and the member is told). Both are guarded transitions, safe beside a running bot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.clock import utcnow
from bot.eggapi import EggAPIClient, EggTask, NotFound
from bot.lifecycle import RELEASED, Bookkeeper, Reconciler, TaskRecord, TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.storage import IntegrityError

log = logging.getLogger(__name__)


class OperatorError(Exception):
    """A request the desk refuses, with a sentence for the operator."""


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """An unconfirmed task and the upstream tasks that could be it."""

    task: TaskRecord
    candidates: list[EggTask]


class UnconfirmedDesk:
    """Lists and settles unconfirmed submits."""

    def __init__(self, store: TaskStore, books: Bookkeeper, client: EggAPIClient, reconciler: Reconciler) -> None:
        self._store = store
        self._books = books
        self._client = client
        self._reconciler = reconciler

    async def pending(self) -> list[Unconfirmed]:
        """Every unconfirmed task, oldest first, with its candidates (raises EggAPIError if the list is unreadable)."""
        tasks = await self._store.list_in_states((TaskStatus.UNKNOWN,))
        return [Unconfirmed(task, await self._reconciler.candidates(task)) for task in tasks]

    async def adopt(self, task_id: int, egg_task_id: str) -> TaskRecord:
        """Record that the task became this EggAPI task; the bot follows it from there."""
        task = await self._unconfirmed(task_id)
        try:
            egg = await self._client.get_task(egg_task_id)
        except NotFound:
            raise OperatorError(f"EggAPI does not know a task {egg_task_id!r}.") from None
        if egg.type and egg.type != task.mode:
            raise OperatorError(f"EggAPI task {egg.id} is an {egg.type}, task {task_id} an {task.mode}.")
        try:
            moved = await self._books.move(
                task_id,
                TaskStatus.UNKNOWN,
                TaskStatus.RUNNING,
                egg_task_id=egg.id,
                upstream_status=egg.status,
                error=None,
            )
        except IntegrityError:
            raise OperatorError(f"EggAPI task {egg.id} already belongs to another task.") from None
        if not moved:
            raise OperatorError(f"Task {task_id} changed meanwhile; look again.")
        log.warning("task %s: adopted EggAPI task %s by the operator's word", task_id, egg.id)
        return await self._current(task_id)

    async def release(self, task_id: int, *, force: bool = False) -> TaskRecord:
        """Record that the task produced nothing to pay for: its hold is freed and the member told.

        Refused while EggAPI lists tasks that could be this one, unless ``force``: releasing a job
        that does exist upstream would charge the account without charging the member.
        """
        task = await self._unconfirmed(task_id)
        if not force:
            candidates = await self._reconciler.candidates(task)
            if candidates:
                ids = ", ".join(egg.id for egg in candidates)
                raise OperatorError(
                    f"EggAPI has {len(candidates)} task(s) that could be task {task_id} ({ids}): adopt the right "
                    "one, or release with --force if none of them is."
                )
        if not await self._books.move(
            task_id, TaskStatus.UNKNOWN, TaskStatus.REJECTED, release=True, error=RELEASED, finished_at=utcnow()
        ):
            raise OperatorError(f"Task {task_id} changed meanwhile; look again.")
        log.warning("task %s: released by the operator (never confirmed at EggAPI)", task_id)
        return await self._current(task_id)

    async def _unconfirmed(self, task_id: int) -> TaskRecord:
        task = await self._store.get(task_id)
        if task is None:
            raise OperatorError(f"There is no task {task_id}.")
        if task.status is not TaskStatus.UNKNOWN:
            raise OperatorError(f"Task {task_id} is {task.status.value}, not unconfirmed; nothing to settle.")
        return task

    async def _current(self, task_id: int) -> TaskRecord:
        task = await self._store.get(task_id)
        assert task is not None
        return task
