"""The job service against a real SQLite file: a job and its hold, all or nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bot.errors import InvalidRequest, QueueFull
from bot.ledger import HoldState, Ledger, LedgerDefaults
from bot.lifecycle.intake import JobService
from bot.lifecycle.model import ImagineRequest, TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper
from testkit.backends import AnyDatabase, AnyTx, Backend


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[AnyDatabase]:
    async with await backend.open() as database:
        yield database


def service(db: AnyDatabase, max_queued: int = 10) -> tuple[JobService, TaskStore, Ledger]:
    store, ledger = TaskStore(db), Ledger(db, LedgerDefaults(member_limit=Decimal("1.00"), period="day"))
    return JobService(db, store, ledger, Bookkeeper(db, store, ledger), max_queued_per_member=max_queued), store, ledger


def request(n: int = 0) -> ImagineRequest:
    return ImagineRequest(guild_id=1, channel_id=2, member_id=3, prompt=f"a fox {n}", count=2, interaction_id=900 + n)


async def test_a_job_is_recorded_with_its_hold(db: AnyDatabase) -> None:
    jobs, store, ledger = service(db)
    task = await jobs.create(request())
    hold = await ledger.hold(task.id)
    assert task.status is TaskStatus.QUEUED and await store.get(task.id) == task
    assert hold is not None and hold.reserved == Decimal("0.02") and hold.state is HoldState.ACTIVE


async def test_a_full_queue_records_nothing(db: AnyDatabase) -> None:
    jobs, store, _ = service(db, max_queued=2)
    for n in range(2):
        await jobs.create(request(n))
    with pytest.raises(QueueFull):
        await jobs.create(request(2))
    assert len(await store.list_unfinished()) == 2
    row = await db.fetchone("SELECT COUNT(*) AS n FROM ledger_holds")
    assert row is not None and row["n"] == 2


async def test_a_creation_cancelled_before_its_answer_is_taken_back(db: AnyDatabase) -> None:
    """Cancelled while its transaction waits on the database thread: it commits, then is withdrawn."""
    jobs, store, ledger = service(db)
    await ledger.terms(guild_id=1, member_id=3, role_ids=(), count=2)  # remembered: no read before the write
    busy, release = asyncio.Event(), threading.Event()
    loop = asyncio.get_running_loop()

    def occupy(tx: AnyTx) -> None:
        loop.call_soon_threadsafe(busy.set)
        release.wait(5)

    blocker = asyncio.create_task(db.transaction(occupy))
    await busy.wait()
    creating = asyncio.create_task(jobs.create(request()))
    for _ in range(5):  # let it queue its transaction behind the blocker
        await asyncio.sleep(0)
    creating.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await creating
    await blocker
    [row] = await db.fetchall("SELECT id, status FROM tasks")
    assert row["status"] == TaskStatus.CANCELLED.value
    hold = await ledger.hold(int(row["id"]))
    assert hold is not None and hold.state is HoldState.RELEASED
    assert await store.list_unfinished() == []


async def test_intake_checks_run_in_order_and_a_refusal_records_nothing(db: AnyDatabase) -> None:
    seen: list[tuple[str, str]] = []

    async def note(req: ImagineRequest) -> None:
        seen.append(("note", req.prompt))

    async def refuse_owls(req: ImagineRequest) -> None:
        seen.append(("owls", req.prompt))
        if "owl" in req.prompt:
            raise InvalidRequest("This server does not allow owls. Nothing was charged.")

    store, ledger = TaskStore(db), Ledger(db, LedgerDefaults(member_limit=Decimal("1.00"), period="day"))
    jobs = JobService(db, store, ledger, Bookkeeper(db, store, ledger), checks=[note, refuse_owls])
    owl = ImagineRequest(guild_id=1, channel_id=2, member_id=3, prompt="  an owl  ", count=1)
    with pytest.raises(InvalidRequest, match="does not allow owls"):
        await jobs.create(owl)
    assert seen == [("note", "an owl"), ("owls", "an owl")]  # the validated request, each check once, in order
    assert await store.list_unfinished() == []
    row = await db.fetchone("SELECT COUNT(*) AS n FROM ledger_holds")
    assert row is not None and row["n"] == 0
    fox = await jobs.create(request())
    assert fox.status is TaskStatus.QUEUED
