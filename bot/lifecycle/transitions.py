"""State changes that touch money: a task's transition and its quota hold, in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from bot.ledger import Charge, Ledger
from bot.lifecycle.model import TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.storage import Storage, Transaction

log = logging.getLogger(__name__)


class Bookkeeper:
    """Moves tasks between states and settles or releases their holds atomically with the move."""

    def __init__(self, storage: Storage, store: TaskStore, ledger: Ledger) -> None:
        self._storage = storage
        self._store = store
        self._ledger = ledger

    async def move(
        self,
        task_id: int,
        expected: TaskStatus | Iterable[TaskStatus],
        new: TaskStatus,
        *,
        settle: Decimal | Charge | None = None,
        release: bool = False,
        **changes: Any,
    ) -> bool:
        """Transition the task; when it moved, settle its hold to ``settle`` or release it."""
        if settle is not None and release:
            raise ValueError("a hold is either settled or released")
        olds = (expected,) if isinstance(expected, TaskStatus) else tuple(expected)
        self._store.check_transition(olds, new)

        def apply(tx: Transaction) -> bool:
            moved = self._store.transition_in(tx, task_id, olds, new, **changes)
            if moved and settle is not None:
                self._ledger.settle_in(tx, task_id, settle)
            elif moved and release:
                self._ledger.release_in(tx, task_id)
            return moved

        moved = await self._storage.transaction(apply)
        if moved and (settle is not None or release):
            amount = settle.amount if isinstance(settle, Charge) else settle
            log.debug("task %s: hold %s", task_id, f"settled at {amount}" if amount is not None else "released")
        return moved

    async def charge(self, cost: Decimal | None, images: int) -> Charge:
        """What a completed task with ``images`` costs (``cost`` None: EggAPI's was unreadable)."""
        return await self._ledger.charge(cost, images)

    async def end_without_output(
        self, task_id: int, expected: TaskStatus, new: TaskStatus, cost: Decimal | None, **changes: Any
    ) -> bool:
        """A task that produced nothing: release its hold, unless EggAPI says it did charge for it."""
        if cost is not None:
            changes["cost"] = cost
        if cost is not None and cost > 0:
            return await self.move(task_id, expected, new, settle=cost, **changes)
        return await self.move(task_id, expected, new, release=True, **changes)
