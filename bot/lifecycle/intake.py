"""Creating jobs: validate a request and record it before anything reaches EggAPI."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.eggapi import format_cost
from bot.errors import QueueFull, UserFacingError
from bot.ledger import Hold, Ledger
from bot.lifecycle.leases import Leases
from bot.lifecycle.model import ImagineRequest, TaskRecord, TaskStatus, validate_request
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper
from bot.storage import Storage, Transaction

log = logging.getLogger(__name__)

HIDEABLE = frozenset(
    {TaskStatus.QUEUED, TaskStatus.SUBMITTING, TaskStatus.UNKNOWN, TaskStatus.RUNNING, TaskStatus.COMPLETED}
)


class DatabaseBusy(UserFacingError):
    """The job could not be recorded in time (the database is locked); nothing was recorded or charged."""

    def __init__(self) -> None:
        super().__init__(key="errors.database_busy")


class Admission:
    """Who decides first: the transaction recording a job, or its caller giving up waiting for it.

    The member must be answered within Discord's 3 s. When the database is locked the caller
    refuses the job (``give_up``) instead of waiting; a transaction that gets the lock only
    afterwards finds the job refused (``claim`` fails) and rolls back, so the member is never
    told "nothing was charged" about a job that then runs. One lock: they run on two threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = "open"

    def claim(self) -> bool:
        """From inside the transaction: True if it may record the job (the caller still waits)."""
        with self._lock:
            if self._state == "open":
                self._state = "claimed"
            return self._state == "claimed"

    def give_up(self) -> bool:
        """From the caller: True if the job is now refused; False if the transaction claimed it first."""
        with self._lock:
            if self._state == "open":
                self._state = "abandoned"
            return self._state == "abandoned"


IntakeCheck = Callable[[ImagineRequest], Awaitable[None]]
"""A rule a request must pass before anything is recorded (a server's prompt policy, say): it
raises a ``UserFacingError`` that says why, or returns. Checks run in order on every path that
starts a job (/imagine, Reroll and the other actions under a result), after the request's own
limits and before the quota."""


class JobService:
    """The entry point the /imagine command calls."""

    def __init__(
        self,
        storage: Storage,
        store: TaskStore,
        ledger: Ledger,
        books: Bookkeeper,
        *,
        max_queued_per_member: int = 10,
        checks: Sequence[IntakeCheck] = (),
        leases: Leases | None = None,
    ) -> None:
        self._storage = storage
        self._leases = leases  # this process follows what it records: the lease is taken with the task
        self._checks = tuple(checks)
        self._max_queued = max_queued_per_member
        self._store = store
        self._ledger = ledger
        self._books = books

    async def create(
        self, request: ImagineRequest, role_ids: Sequence[int] = (), *, admission: Admission | None = None
    ) -> TaskRecord:
        """Validate, record a queued task and reserve its worst-case cost, all or nothing.

        Raises InvalidRequest, QueueFull or QuotaExceeded having recorded nothing, and
        DatabaseBusy if ``admission`` was given up before the transaction could start.
        """
        clean = validate_request(request)
        for check in self._checks:
            await check(clean)
        terms = await self._ledger.terms(
            guild_id=clean.guild_id, member_id=clean.member_id, role_ids=role_ids, count=clean.count
        )

        def record(tx: Transaction) -> tuple[TaskRecord, Hold]:
            if admission is not None and not admission.claim():
                raise DatabaseBusy  # the member was told already: roll back, record nothing
            waiting = self._store.count_queued(tx, clean.member_id)
            if waiting >= self._max_queued:
                raise QueueFull(key="errors.queue_full", count=waiting)
            task = self._store.insert(tx, clean)
            hold = self._ledger.reserve_in(tx, terms, task_id=task.id)
            if self._leases is not None:
                self._leases.grant_in(tx, task.id)
            return task, hold

        recording = asyncio.ensure_future(self._storage.transaction(record))  # one hop, however busy it is
        try:
            task, hold = await asyncio.shield(recording)
        except asyncio.CancelledError:
            # The transaction runs to its end regardless; nobody will tell the member about this job,
            # so take it back (its hold is released) once it has ended. Waiting for it matters where
            # transactions run side by side (PostgreSQL): the withdrawal must see its commit.
            if clean.interaction_id is not None:
                try:
                    await asyncio.shield(self._withdraw_after(recording, clean.interaction_id))
                except Exception:  # the cancellation is what the caller must see
                    log.exception("could not withdraw the job of cancelled interaction %s", clean.interaction_id)
            raise
        log.info(
            "task %s queued for member %s in channel %s, holding %s",
            task.id,
            task.member_id,
            task.channel_id,
            format_cost(hold.reserved),
        )
        return task

    async def _withdraw_after(self, recording: asyncio.Future[Any], interaction_id: int) -> None:
        await asyncio.wait([recording])
        await self._withdraw_interaction(interaction_id)

    async def _withdraw_interaction(self, interaction_id: int) -> None:
        for task_id in await self._store.queued_for_interaction(interaction_id):
            if await self.withdraw(task_id):
                log.info("task %s withdrawn: its /imagine was cancelled before it was answered", task_id)

    async def withdraw(self, task_id: int) -> bool:
        """Cancel a queued task the member never saw acknowledged; False if it had moved on."""
        return await self._books.move(task_id, TaskStatus.QUEUED, TaskStatus.CANCELLED, release=True)

    async def hide(self, task_id: int) -> bool:
        """Send a job's result to the member privately instead of the channel; False once it has finished."""
        if not await self._store.hide(task_id, HIDEABLE):
            return False
        log.info("task %s hidden by its member; the result goes by DM", task_id)
        return True

    async def attach_status_message(self, task_id: int, message_id: int) -> None:
        """Remember which message shows the task's progress."""
        await self._store.update(task_id, status_message_id=message_id)
