"""State changes that touch money: a task's transition and its quota hold, in one transaction.

A ``Bookkeeper`` made ``fenced`` for a bot process (the tracker's, its deliveries' and outcomes')
moves a task only while that process holds the task's lease (``bot.lifecycle.leases``): a process
that lost a lease (paused, cut off from the database) cannot move the task on behind the back of the
process that took it over. The others (members' cancels, the operator's desk) are not fenced: the
status guard alone decides for them.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.ledger import Charge, Ledger
from bot.lifecycle.model import UPSTREAM, TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.storage import Storage, Transaction

log = logging.getLogger(__name__)


class Start(enum.Enum):
    """What became of an attempt to move a queued task to 'submitting' (``Bookkeeper.begin_submit``)."""

    STARTED = "started"
    FULL = "full"  # as many tasks run upstream as everyone may have (every process's count together)
    MEMBER_FULL = "member_full"  # as many of the member's tasks run as one member may have
    GONE = "gone"  # no longer queued (cancelled, or moved by another process), or no longer ours


@dataclass(frozen=True, slots=True)
class Yield:
    """A queued task that did not start because other members' turns come first, counting every process."""

    turn: int | None  # a member of this process whose turn it is now, if any (else another process's are)
    ahead: int  # how many members waiting elsewhere come before this process's next turn (at least)


RECENT_TASKS = 2000  # the newest tasks searched for when each waiting member was last served
TURNS_SHOWN = 25  # members ranked beyond the free places, to tell how many come before this process


@dataclass(frozen=True, slots=True)
class RunningCaps:
    """How many tasks may run upstream at once: everyone's together, and one member's."""

    total: int
    per_member: int


class Bookkeeper:
    """Moves tasks between states and settles or releases their holds atomically with the move."""

    def __init__(self, storage: Storage, store: TaskStore, ledger: Ledger, *, owner: str | None = None) -> None:
        self._storage = storage
        self._store = store
        self._ledger = ledger
        self._owner = owner

    def fenced(self, owner: str) -> Bookkeeper:
        """The same bookkeeper, moving tasks only while ``owner`` (a bot process) holds their lease."""
        return Bookkeeper(self._storage, self._store, self._ledger, owner=owner)

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
            moved = self._store.transition_in(tx, task_id, olds, new, owner=self._owner, **changes)
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

    async def begin_submit(self, task_id: int, member_id: int, caps: RunningCaps, **changes: Any) -> Start | Yield:
        """Move a queued task to 'submitting' if the running caps leave room, counted in the same transaction.

        The count is of every task running upstream in the database, whichever process follows it,
        so several processes together never run more than ``caps`` (PostgreSQL locks the count:
        ``count_running``). Fenced, it also yields to fairer members waiting in other processes.
        """
        self._store.check_transition((TaskStatus.QUEUED,), TaskStatus.SUBMITTING)

        def apply(tx: Transaction) -> Start | Yield:
            total, mine = tx.tasks.count_running(member_id, UPSTREAM)
            if total >= caps.total:
                return Start.FULL
            if mine >= caps.per_member:
                return Start.MEMBER_FULL
            if self._owner is not None:
                waiting = self._yields(tx, member_id, caps, free=caps.total - total)
                if waiting is not None:
                    return waiting
            moved = self._store.transition_in(
                tx, task_id, (TaskStatus.QUEUED,), TaskStatus.SUBMITTING, owner=self._owner, **changes
            )
            return Start.STARTED if moved else Start.GONE

        return await self._storage.transaction(apply)

    def _yields(self, tx: Transaction, member_id: int, caps: RunningCaps, *, free: int) -> Yield | None:
        """Whether the member must let fairer members waiting in other processes go first (None: it may start)."""
        assert self._owner is not None
        turns = tx.tasks.fair_turns(
            self._owner, UPSTREAM, per_member=caps.per_member, limit=free + TURNS_SHOWN, recent=RECENT_TASKS
        )
        due = turns[:free]
        if not turns or any(waiting.member_id == member_id for waiting in due):
            return None
        ours = [n for n, waiting in enumerate(turns) if waiting.owned]
        turn = turns[ours[0]].member_id if ours and ours[0] < free else None
        return Yield(turn=turn, ahead=ours[0] if ours else len(turns))

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
