"""Leases: which bot process follows each unfinished task, so several processes share the work safely.

Every process has an id, new at each start (``new_owner``): its *seat* (the shards it runs, or
``all``), then what makes it unique. A process holds the lease of each task it records
(``grant_in``, in the transaction that records it) or takes over (``claim``); the lease lasts
``ttl`` seconds (``EGGBOT_LEASE_TTL``) and the process renews all of its leases every
``renew_interval`` (``EGGBOT_LEASE_RENEW_INTERVAL``). Every ``check_interval``
(``EGGBOT_LEASE_CHECK_INTERVAL``) it looks in the database for leases nobody holds (lapsed: their
process died or hung; released: it stopped cleanly) and takes them, oldest task first, with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer at a time), then resumes them
exactly as after a restart. At its start it also takes the leases of its seat's earlier process
(the one it replaces), so a single bot restarted after a crash carries on at once, as it always did.

The tracker acts on a task only while it holds the lease (``holds``), and the state changes it makes
are fenced (``Bookkeeper.fenced``: ``UPDATE … WHERE lease_owner = me``), so a process that lost a
lease while paused or cut off cannot move the task on; a post is preceded by ``confirm``, which
renews the lease in the database or finds it lost. What stays is the moment between that check and
the post itself: a process frozen exactly there and for longer than the lease posts late, under the
same post key as its successor, which Discord then answers with the first post (for a few minutes).

Webhooks may reach any process: one for a task another process follows is kept in the database
(``pass_hint``) and taken by that process at its next look (``take_hints``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.lifecycle.model import TaskRecord
from bot.storage import Storage, Transaction

log = logging.getLogger(__name__)

ALL_SHARDS = "all"
HINTS_KEPT = 256  # webhook ids kept for other processes at most (forged ones cannot fill the table)
HINT_LIFETIME = 600.0  # seconds a kept webhook id that matches no task of anyone's is kept


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    """How long a lease lasts, how often it is renewed, and how often a process looks for work (seconds)."""

    ttl: float = 30.0
    renew_interval: float = 10.0
    check_interval: float = 1.0
    batch: int = 100  # leases taken over in one transaction


def seat_of(shard_ids: Iterable[int] | None) -> str:
    """The seat of a process running these shards (None: all of them): what a restart of it keeps."""
    return ALL_SHARDS if shard_ids is None else "shards:" + ",".join(str(shard) for shard in sorted(shard_ids))


def new_owner(seat: str) -> str:
    """A new process id in ``seat``: the seat, the host and process, and a random part (a process lives once)."""
    return f"{seat}/{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


TakenOver = Callable[[TaskRecord], None]
Lost = Callable[[int], None]
Hinted = Callable[[str], Awaitable[object]]


class Leases:
    """This process's leases: what it holds, and the loop that renews them and takes over lapsed ones."""

    def __init__(self, storage: Storage, owner: str, config: LeaseConfig | None = None) -> None:
        self._storage = storage
        self.owner = owner
        self.seat = owner.split("/", 1)[0]
        self._config = config or LeaseConfig()
        self._held: set[int] = set()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._lost: Lost = self.let_go  # the tracker's, once started
        self._failing = False

    @property
    def config(self) -> LeaseConfig:
        """The timings this process keeps its leases by."""
        return self._config

    @property
    def held(self) -> frozenset[int]:
        """The tasks this process holds the lease of, as far as it knows."""
        return frozenset(self._held)

    @property
    def alive(self) -> bool:
        """Whether the renewing loop runs (or was never started: nothing to renew)."""
        return self._loop is None or not self._loop.done()

    def holds(self, task_id: int) -> bool:
        """Whether this process holds the task's lease (renewed in time, not lost to another process)."""
        return task_id in self._held

    def grant_in(self, tx: Transaction, task_id: int) -> None:
        """Take the lease of a task this process records now, inside the transaction recording it."""
        tx.tasks.grant_lease(task_id, self.owner, self._config.ttl)
        tx.after_commit(lambda: self._held.add(task_id))

    def let_go(self, task_id: int) -> None:
        """Forget a task (it ended here, or another process has it); its lease in the database lapses unrenewed."""
        self._held.discard(task_id)

    async def claim(self, *, first: bool = False) -> list[TaskRecord]:
        """Take the leases nobody holds (with ``first``, the seat's earlier process's too); the tasks newly ours.

        With ``first`` (at start), every such task, batch after batch; later, one batch per look.
        """
        seat = self.seat if first else None
        config = self._config
        taken: list[TaskRecord] = []
        while True:
            batch = await self._storage.transaction(
                lambda tx: tx.tasks.claim_leases(self.owner, config.ttl, limit=config.batch, seat=seat)
            )
            taken += [task for task in batch if task.id not in self._held]
            self._held.update(task.id for task in batch)
            if not first or len(batch) < config.batch:
                return taken

    async def renew(self) -> list[int]:
        """Renew every lease this process holds; the ids it turned out to have lost (finished or taken over)."""
        before = set(self._held)  # taken now: a task granted while the renewal runs is not lost
        kept = await self._storage.transaction(lambda tx: tx.tasks.renew_leases(self.owner, self._config.ttl))
        lost = sorted(before - set(kept))
        self._held.difference_update(lost)
        return lost

    async def confirm(self, task_ids: Sequence[int]) -> bool:
        """Renew these tasks' leases in the database right before acting on them; False if one is not ours."""
        wanted = sorted(set(task_ids))
        kept = await self._storage.transaction(lambda tx: tx.tasks.renew_leases(self.owner, self._config.ttl, wanted))
        lost = sorted(set(wanted) - set(kept))
        if lost:
            log.warning("tasks %s: the lease went to another process; leaving them to it", lost)
            self._held.difference_update(lost)
            for task_id in lost:
                self._lost(task_id)
        return not lost

    async def release(self) -> int:
        """Give up every lease (a clean stop): other processes take the tasks at their next look."""
        released = await self._storage.transaction(lambda tx: tx.tasks.release_leases(self.owner))
        self._held.clear()
        if released:
            log.info("released the leases of %d unfinished task(s) for other processes", released)
        return released

    async def pass_hint(self, egg_task_id: str) -> bool:
        """Keep a webhook about a task another process follows for that process; False when too many wait."""
        kept = await self._storage.transaction(lambda tx: tx.tasks.add_hint(egg_task_id, keep=HINTS_KEPT))
        log.info("webhook for %s kept for the process that follows it", egg_task_id)
        return kept

    async def take_hints(self) -> list[str]:
        """The EggAPI ids of this process's tasks that webhooks reached other processes about."""
        return await self._storage.transaction(lambda tx: tx.tasks.take_hints(self.owner))

    # -- the loop --------------------------------------------------------------------------------

    def start(self, *, taken_over: TakenOver, lost: Lost, hinted: Hinted, looked: Callable[[], None]) -> None:
        """Renew, take over and take hints from now on, telling the tracker (``looked``: after each look)."""
        self._lost = lost
        self._loop = asyncio.create_task(self._run(taken_over, lost, hinted, looked), name="eggbot-leases")

    async def close(self) -> None:
        """Stop the loop once its current look is done (the leases stay until ``release`` or until they lapse).

        Not cancelled mid-look: a claim that committed after ``release`` would keep tasks from the
        others for a whole lease, and a database driver cancelled mid-statement may not say so cleanly.
        """
        self._stopping.set()
        if self._loop is not None:
            await asyncio.gather(self._loop, return_exceptions=True)

    async def _run(self, taken_over: TakenOver, lost: Lost, hinted: Hinted, looked: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + self._config.renew_interval
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._config.check_interval)
                return
            try:
                if loop.time() >= renew_at:
                    renew_at = loop.time() + self._config.renew_interval
                    for task_id in await self.renew():
                        lost(task_id)
                    await self._storage.transaction(lambda tx: tx.tasks.prune_hints(HINT_LIFETIME))
                free, hints = await self._storage.read(lambda tx: tx.tasks.lease_work(self.owner))
                if free:
                    for task in await self.claim():
                        log.info("task %s: taken over (its lease was free)", task.id)
                        taken_over(task)
                if hints:
                    for egg_task_id in await self.take_hints():
                        await hinted(egg_task_id)
                looked()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: leases lapse, fenced writes fail; try again
                if not self._failing:
                    log.warning("cannot keep leases (%s: %s); retrying", type(exc).__name__, exc)
                self._failing = True
                continue
            if self._failing:
                log.info("keeping leases again")
                self._failing = False
