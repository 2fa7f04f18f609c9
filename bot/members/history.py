"""History: a member's own jobs in one server, page by page, and one job by its number (/history, /show).

Pages are cut by job number (a keyset), not by position, so a job made while someone turns pages
does not shift what "older" means: a page is "the newest jobs below #n" or "the oldest above #n".
Each entry carries the job's hold, so its cost is what the ledger counts (held while running, the
real cost once settled, nothing once released), as in /usage and /balance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from bot.ledger import Hold, HoldState
from bot.lifecycle.model import TaskRecord
from bot.storage import Storage, Transaction

log = logging.getLogger(__name__)

PAGE_SIZE = 5


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One job and its hold (None for a job recorded before the ledger existed)."""

    task: TaskRecord
    hold: Hold | None

    @property
    def cost(self) -> Decimal | None:
        """What the ledger counts for the job; the task's own cost when it has no hold."""
        return self.task.cost if self.hold is None else self.hold.amount

    @property
    def held(self) -> bool:
        """Whether the cost is still a reservation (the job is running or its outcome unknown)."""
        return self.hold is not None and self.hold.state is HoldState.ACTIVE


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Some of a member's jobs, newest first, and where they sit among all of them."""

    member_id: int
    entries: tuple[HistoryEntry, ...]
    newer: int  # jobs newer than the first entry
    total: int  # all of the member's jobs in this server
    size: int = PAGE_SIZE

    @property
    def older(self) -> int:
        """Jobs older than the last entry."""
        return max(self.total - self.newer - len(self.entries), 0)

    @property
    def number(self) -> int:
        """This page's number, 1 for the newest (by the jobs before it)."""
        return -(-self.newer // self.size) + 1

    @property
    def pages(self) -> int:
        """How many pages the jobs fill (at least 1)."""
        return max(self.number + -(-self.older // self.size), 1)

    @property
    def first_id(self) -> int | None:
        """The newest job on the page."""
        return self.entries[0].task.id if self.entries else None

    @property
    def last_id(self) -> int | None:
        """The oldest job on the page."""
        return self.entries[-1].task.id if self.entries else None


class History:
    """Reads a member's jobs in one server (``guild_id=None``: direct messages)."""

    def __init__(self, storage: Storage, *, page_size: int = PAGE_SIZE) -> None:
        self._storage = storage
        self._size = page_size

    async def page(
        self, guild_id: int | None, member_id: int, *, before: int | None = None, after: int | None = None
    ) -> HistoryPage:
        """The newest jobs below job ``before``, or the oldest above job ``after``; the newest page by default.

        A page "above" that would come out short (the newest jobs were reached) is the newest page instead.
        """
        size = self._size

        def read(tx: Transaction) -> HistoryPage:
            tasks = tx.tasks.member_page(guild_id, member_id, before=before, after=after, limit=size)
            if after is not None and len(tasks) < size:
                tasks = tx.tasks.member_page(guild_id, member_id, before=None, after=None, limit=size)
            if before is not None and not tasks:  # a cursor below every job (tasks are never deleted)
                tasks = tx.tasks.member_page(guild_id, member_id, before=None, after=None, limit=size)
            entries = tuple(HistoryEntry(task, tx.ledger.hold(task.id)) for task in tasks)
            newer = tx.tasks.count_member(guild_id, member_id, above=tasks[0].id) if tasks else 0
            total = tx.tasks.count_member(guild_id, member_id)
            return HistoryPage(member_id, entries, newer, total, size)

        return await self._storage.read(read)

    async def job(self, guild_id: int | None, task_id: int) -> HistoryEntry | None:
        """Job number ``task_id`` if it was made in this server (None for another server's, or none at all)."""

        def read(tx: Transaction) -> HistoryEntry | None:
            task = tx.tasks.get(task_id)
            if task is None or task.guild_id != guild_id:
                return None
            return HistoryEntry(task, tx.ledger.hold(task.id))

        return await self._storage.read(read)
