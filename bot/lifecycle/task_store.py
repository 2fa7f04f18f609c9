"""The tasks' lifecycle over storage: guarded state changes, the clock that stamps them, listeners."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.clock import utcnow
from bot.lifecycle.model import TERMINAL, ImagineRequest, TaskRecord, TaskStatus, can_move
from bot.logs import note_task
from bot.storage import TASK_FIELDS, Storage, Transaction

log = logging.getLogger(__name__)

STATUS_LEFT_WINDOW = timedelta(days=1)  # status messages a restart still tidies away

Clock = Callable[[], datetime]
Listener = Callable[[int, TaskStatus], None]


def _check_fields(changes: dict[str, Any]) -> None:
    unknown = set(changes) - TASK_FIELDS
    if unknown:
        raise ValueError(f"cannot update columns {sorted(unknown)}")


class TaskStore:
    """Persistence of tasks; every state change is guarded by the expected current state."""

    def __init__(self, storage: Storage, clock: Clock = utcnow) -> None:
        self._storage = storage
        self._clock = clock
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(task_id, new_status)`` after every state change (metrics, tests, benchmarks)."""
        self._listeners.append(listener)

    def insert(self, tx: Transaction, req: ImagineRequest) -> TaskRecord:
        """Insert a queued task (inside ``Storage.transaction``) and return it as recorded."""
        return tx.tasks.insert(req, TaskStatus.QUEUED, self._clock())

    async def bind_delivery_nonce(self, task_ids: list[int], nonce: str) -> None:
        """Record the nonce the tasks' one post carries (before posting, so a repeat can reuse it)."""
        await self._storage.transaction(lambda tx: tx.tasks.bind_delivery_nonce(task_ids, nonce))

    async def list_by_delivery_nonce(self, nonce: str) -> list[TaskRecord]:
        """The tasks posted (or being posted) together under this nonce, first task first."""
        return await self._storage.read(lambda tx: tx.tasks.list_by_delivery_nonce(nonce))

    async def posted_images(self, task_id: int) -> dict[int, int]:
        """Which of the task's outputs are already posted: output index -> message id."""
        return await self._storage.read(lambda tx: tx.tasks.posted_images(task_id))

    async def record_posted(self, task_id: int, message_id: int, indexes: Iterable[int]) -> None:
        """Record that ``message_id`` carries these outputs of the task (as soon as it is posted)."""
        wanted = list(indexes)
        if wanted:
            await self._storage.transaction(lambda tx: tx.tasks.record_posted(task_id, message_id, wanted))

    async def reroute(self, task_id: int, *, hidden: bool, reason: str) -> bool:
        """Send a delivering task's result to the other destination, once; its post starts afresh there."""
        return await self._storage.transaction(
            lambda tx: tx.tasks.reroute(
                task_id, status=TaskStatus.DELIVERING, hidden=hidden, reason=reason, now=self._clock()
            )
        )

    @staticmethod
    def count_queued(tx: Transaction, member_id: int) -> int:
        """How many of the member's tasks are waiting to be submitted (inside ``Storage.transaction``)."""
        return tx.tasks.count_in_state(member_id, TaskStatus.QUEUED)

    async def create(self, req: ImagineRequest) -> TaskRecord:
        """Record a new queued task in its own transaction."""
        return await self._storage.transaction(lambda tx: self.insert(tx, req))

    async def get(self, task_id: int) -> TaskRecord | None:
        """The task with this id, or None (its guild and member join a log context about it)."""
        task = await self._storage.read(lambda tx: tx.tasks.get(task_id))
        if task is not None:
            note_task(task.id, task.guild_id, task.member_id)
        return task

    async def queued_for_interaction(self, interaction_id: int) -> list[int]:
        """Ids of the still-queued tasks an interaction created."""
        return await self._storage.read(lambda tx: tx.tasks.ids_by_interaction(interaction_id, TaskStatus.QUEUED))

    async def list_with_error(self, status: TaskStatus, error: str) -> list[TaskRecord]:
        """Every task in ``status`` whose error is ``error``, oldest first."""
        return await self._storage.read(lambda tx: tx.tasks.list_with_error(status, error))

    async def replace_error(self, task_id: int, status: TaskStatus, old: str, new: str) -> bool:
        """Change the error of a task still in ``status`` with error ``old``; False if it was not (a marker, once)."""
        now = self._clock()
        return await self._storage.transaction(lambda tx: tx.tasks.replace_error(task_id, status, old, new, now))

    async def get_by_egg_id(self, egg_task_id: str) -> TaskRecord | None:
        """The task EggAPI knows by this id, or None."""
        return await self._storage.read(lambda tx: tx.tasks.get_by_egg_id(egg_task_id))

    async def for_webhook(self, egg_task_id: str) -> tuple[TaskRecord | None, list[TaskRecord]]:
        """The task EggAPI knows by this id; when none, the submits still awaiting EggAPI's answer.

        One consistent read: a submit whose answer is recorded meanwhile (in another process) is
        seen either as that task or as waiting, never as neither.
        """
        waiting = (TaskStatus.SUBMITTING, TaskStatus.UNKNOWN)

        def view(tx: Transaction) -> tuple[TaskRecord | None, list[TaskRecord]]:
            task = tx.tasks.get_by_egg_id(egg_task_id)
            return task, [] if task is not None else tx.tasks.list_in_states(waiting)

        return await self._storage.read(view)

    async def list_unfinished(self) -> list[TaskRecord]:
        """Every task that is not terminal, oldest first (what a restart must resume)."""
        return await self._storage.read(lambda tx: tx.tasks.list_not_in_states(TERMINAL))

    async def hide(self, task_id: int, states: Iterable[TaskStatus]) -> bool:
        """Mark the task hidden (and forget its status message) only while it is in one of ``states``."""
        wanted, now = tuple(states), self._clock()
        return await self._storage.transaction(lambda tx: tx.tasks.hide(task_id, wanted, now))

    async def list_in_states(self, states: Iterable[TaskStatus]) -> list[TaskRecord]:
        """Every task in one of ``states``, oldest first."""
        wanted = tuple(states)
        return await self._storage.read(lambda tx: tx.tasks.list_in_states(wanted))

    async def list_status_left(self) -> list[TaskRecord]:
        """Tasks delivered in the last day whose status message was not removed yet (a stop came first).

        Older ones are left as they are: a first start after an upgrade must not delete the status
        messages of every job ever made in a burst.
        """
        since = self._clock() - STATUS_LEFT_WINDOW
        return await self._storage.read(lambda tx: tx.tasks.list_with_status_message(TaskStatus.DELIVERED, since))

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
        return await self._storage.transaction(lambda tx: self.transition_in(tx, task_id, olds, new, **changes))

    @staticmethod
    def check_transition(olds: Iterable[TaskStatus], new: TaskStatus) -> None:
        """Raise ValueError unless every ``old`` may move to ``new`` (staying put is allowed)."""
        bad = [old for old in olds if old != new and not can_move(old, new)]
        if bad:
            raise ValueError(f"illegal transition {bad} -> {new}")

    def transition_in(
        self,
        tx: Transaction,
        task_id: int,
        expected: Iterable[TaskStatus],
        new: TaskStatus,
        *,
        owner: str | None = None,
        **changes: Any,
    ) -> bool:
        """Like ``transition`` but inside ``Storage.transaction``; with ``owner``, only while it holds the lease."""
        olds = tuple(expected)
        _check_fields(changes)
        if not tx.tasks.move(task_id, olds, new, self._clock(), changes, owner=owner):
            log.debug("task %s: not moved to %s (not in %s, or not ours)", task_id, new, [o.value for o in olds])
            return False
        for listener in self._listeners:  # only once the change is durable: a rollback tells nobody
            tx.after_commit(functools.partial(listener, task_id, new))
        return True

    async def update(self, task_id: int, **changes: Any) -> None:
        """Set columns that are not the status (status message id, upstream status)."""
        _check_fields(changes)
        if not changes:
            return
        now = self._clock()
        await self._storage.transaction(lambda tx: tx.tasks.update(task_id, now, changes))
