"""What bot processes sharing one database ask of its tasks: leases, kept webhooks, and whose turn is next.

Leases (``bot.lifecycle.leases``): which bot process follows each unfinished task, and until when.
Their times are the database's own clock (PostgreSQL's; for SQLite, one file on one machine, that
machine's), so processes on hosts whose clocks differ agree on when a lease lapses.

The turns (``fair_turns``, ``bot.lifecycle.transitions``): each process keeps its own line of queued
tasks, and when the running caps leave fewer places than there are members waiting in all processes,
the database says which members' turn it is, so a freed place goes to the fairest member whichever
process follows them. Only live leases count: a dead or hung process's queued tasks stop counting
once their leases lapse (and another process takes them over).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.lifecycle.model import TaskRecord, TaskStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WaitingMember:
    """A member with a task waiting in some process's line (a queued task whose lease is live)."""

    member_id: int
    owned: bool  # whether the asking process holds the lease of one of the member's waiting tasks


class SharedTasks(Protocol):
    """The part of ``TaskRepository`` that only matters when several processes share the tasks."""

    def grant_lease(self, task_id: int, owner: str, ttl: float) -> None:
        """Give ``owner`` the lease of a task it has just recorded, for ``ttl`` seconds."""
        ...

    def claim_leases(self, owner: str, ttl: float, *, limit: int, seat: str | None = None) -> list[TaskRecord]:
        """Take the leases of up to ``limit`` unfinished tasks nobody holds (lapsed or released), oldest first.

        With ``seat``, also those held by an earlier process of that seat (owner ``seat/…``): the
        process a restart replaces. Tasks another change is claiming are skipped, never waited for.
        """
        ...

    def renew_leases(self, owner: str, ttl: float, task_ids: Sequence[int] | None = None) -> list[int]:
        """Extend ``owner``'s leases of unfinished tasks (only ``task_ids``, when given); the ids still held."""
        ...

    def release_leases(self, owner: str) -> int:
        """Give up ``owner``'s leases of unfinished tasks, so other processes take them at once."""
        ...

    def lease_work(self, owner: str) -> tuple[bool, bool]:
        """(is any unfinished task's lease free to take, is any of ``owner``'s tasks hinted)."""
        ...

    def add_hint(self, egg_task_id: str, *, keep: int) -> bool:
        """Keep a webhook's task id for the process that follows it (while fewer than ``keep`` wait)."""
        ...

    def take_hints(self, owner: str) -> list[str]:
        """The hinted EggAPI ids of ``owner``'s tasks, forgetting those hints."""
        ...

    def prune_hints(self, older_than: float) -> int:
        """Forget hints kept longer than ``older_than`` seconds (they matched no task)."""
        ...

    def fair_turns(
        self, owner: str, running: Iterable[TaskStatus], *, per_member: int, limit: int, recent: int
    ) -> list[WaitingMember]:
        """The first ``limit`` members waiting in any process, fairest first; [] while only ``owner``'s wait.

        Waiting: a queued task whose lease is live, of a member with fewer than ``per_member`` tasks in
        ``running``. Fairest: fewest tasks in ``running``; then the longest since one of their tasks was
        submitted (among the newest ``recent`` tasks; none there: first); then the oldest waiting task.
        Meant for a change that holds the running caps' lock (``count_running``), as every start does.
        """
        ...
