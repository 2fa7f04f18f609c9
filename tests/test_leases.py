"""Leases on both backends: granted with a task, renewed, taken over once lapsed or released, fenced writes.

"Two processes" are two storage instances on one database (an SQLite file opened twice, or two
PostgreSQL pools), each with its own ``Leases``: what two bot processes are to the database. A
lease is made to lapse by giving it no time at all (``ttl=0``), never by waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

from bot.ledger import Ledger, LedgerDefaults
from bot.lifecycle.intake import JobService
from bot.lifecycle.leases import LeaseConfig, Leases, new_owner, seat_of
from bot.lifecycle.model import ImagineRequest, TaskRecord, TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper, RunningCaps, Start, Yield
from testkit.backends import AnyDatabase, Backend

LIVE = LeaseConfig(ttl=60.0, renew_interval=20.0, check_interval=1.0)
LAPSING = LeaseConfig(ttl=0.0, renew_interval=0.0, check_interval=1.0)  # lapsed as soon as granted


def jobs(db: AnyDatabase, leases: Leases) -> JobService:
    store, ledger = TaskStore(db), Ledger(db, LedgerDefaults(member_limit=Decimal("100"), period="day"))
    return JobService(db, store, ledger, Bookkeeper(db, store, ledger), leases=leases)


async def record(db: AnyDatabase, leases: Leases, n: int = 0, member: int = 3) -> TaskRecord:
    """A job recorded by the process ``leases`` belongs to (it holds the lease from then on)."""
    return await jobs(db, leases).create(ImagineRequest(guild_id=1, channel_id=2, member_id=member, prompt=f"fox {n}"))


async def owner_of(db: AnyDatabase, task_id: int) -> str | None:
    row = await db.fetchone("SELECT lease_owner FROM tasks WHERE id = ?", (task_id,))
    assert row is not None
    return row["lease_owner"]  # type: ignore[no-any-return]


def books(db: AnyDatabase, leases: Leases) -> Bookkeeper:
    store = TaskStore(db)
    return Bookkeeper(db, store, Ledger(db, LedgerDefaults(member_limit=Decimal("100"), period="day"))).fenced(
        leases.owner
    )


def test_a_process_id_names_its_seat_and_is_new_at_each_start() -> None:
    assert seat_of(None) == "all" and seat_of([3, 1]) == "shards:1,3"
    first, second = new_owner("shards:0"), new_owner("shards:0")
    assert first.startswith("shards:0/") and second.startswith("shards:0/") and first != second


async def test_the_process_recording_a_task_holds_it_and_another_cannot_take_it(
    pair: tuple[AnyDatabase, AnyDatabase],
) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LIVE)
    b = Leases(pair[1], new_owner("shards:1"), LIVE)
    task = await record(pair[0], a)
    assert a.holds(task.id) and await owner_of(pair[0], task.id) == a.owner
    assert await b.claim() == [] and await b.claim(first=True) == []
    assert not b.holds(task.id)
    assert await a.renew() == []  # renewed, nothing lost
    assert await pair[1].read(lambda tx: tx.tasks.lease_work(b.owner)) == (False, False)


async def test_a_lapsed_lease_is_taken_over_and_its_old_holder_can_no_longer_move_the_task(
    pair: tuple[AnyDatabase, AnyDatabase],
) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LAPSING)  # a process that stopped renewing (killed, paused)
    b = Leases(pair[1], new_owner("shards:1"), LIVE)
    task = await record(pair[0], a)
    assert await pair[1].read(lambda tx: tx.tasks.lease_work(b.owner)) == (True, False)
    [taken] = await b.claim()
    assert taken.id == task.id and taken.status is TaskStatus.QUEUED and b.holds(task.id)
    assert await owner_of(pair[1], task.id) == b.owner
    assert await b.claim() == []  # b holds it now; nobody else may take it
    assert not await books(pair[0], a).move(task.id, TaskStatus.QUEUED, TaskStatus.SUBMITTING)
    assert await a.renew() == [task.id]  # a learns it lost it
    assert not a.holds(task.id)
    assert await books(pair[1], b).move(task.id, TaskStatus.QUEUED, TaskStatus.SUBMITTING)


async def test_a_renewed_lease_stays_and_confirm_tells_a_lost_one(pair: tuple[AnyDatabase, AnyDatabase]) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LIVE)
    b = Leases(pair[1], new_owner("shards:1"), LIVE)
    kept, given_up = await record(pair[0], a, 1), await record(pair[0], a, 2)
    assert await a.confirm([kept.id, given_up.id])
    await pair[0].transaction(lambda tx: tx.tasks.renew_leases(a.owner, 0.0, [given_up.id]))  # let it lapse
    [taken] = await b.claim()
    assert taken.id == given_up.id
    lost: list[int] = []

    async def hinted(_: str) -> None:
        return None

    a.start(taken_over=lambda task: None, lost=lost.append, hinted=hinted, looked=lambda: None)
    try:
        assert not await a.confirm([kept.id, given_up.id])
        assert lost == [given_up.id] and a.holds(kept.id) and not a.holds(given_up.id)
        assert await a.confirm([kept.id])
    finally:
        await a.close()


async def test_a_clean_stop_releases_every_lease_for_others_at_once(pair: tuple[AnyDatabase, AnyDatabase]) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LIVE)
    b = Leases(pair[1], new_owner("shards:1"), LIVE)
    tasks = [await record(pair[0], a, n) for n in range(3)]
    await TaskStore(pair[0]).transition(tasks[2].id, TaskStatus.QUEUED, TaskStatus.CANCELLED)
    assert await a.release() == 2  # the cancelled one has no lease worth giving
    assert a.held == frozenset()
    assert [task.id for task in await b.claim()] == [tasks[0].id, tasks[1].id]


async def test_a_restarted_process_takes_its_seat_over_at_once_and_no_other(
    pair: tuple[AnyDatabase, AnyDatabase],
) -> None:
    before = Leases(pair[0], new_owner("shards:0"), LIVE)  # killed: its leases are still live for a while
    other = Leases(pair[1], new_owner("shards:1"), LIVE)
    mine, theirs = await record(pair[0], before, 1), await record(pair[1], other, 2)
    after = Leases(pair[0], new_owner("shards:0"), LIVE)
    stranger = Leases(pair[1], new_owner("shards:10"), LIVE)  # "shards:1" is a prefix of it, not its seat
    assert await stranger.claim(first=True) == []
    assert [task.id for task in await after.claim(first=True)] == [mine.id]
    assert await owner_of(pair[0], theirs.id) == other.owner
    assert await before.renew() == [mine.id]


async def test_processes_taking_over_at_once_never_take_one_task_twice(backend: Backend) -> None:
    dbs = [await backend.open() for _ in range(4)]
    try:
        gone = Leases(dbs[0], new_owner("gone"), LAPSING)
        recorded = {(await record(dbs[0], gone, n, member=n)).id for n in range(40)}
        takers = [Leases(db, new_owner(f"shards:{n}"), LeaseConfig(ttl=60.0, batch=3)) for n, db in enumerate(dbs)]

        async def take_all(leases: Leases) -> list[int]:
            taken: list[int] = []
            while batch := await leases.claim():
                taken += [task.id for task in batch]
                await asyncio.sleep(0)  # let the others in between batches
            return taken

        results = await asyncio.gather(*(take_all(leases) for leases in takers))
        everything = [task_id for taken in results for task_id in taken]
        assert sorted(everything) == sorted(recorded)  # each task once, none left over
        for leases, taken in zip(takers, results, strict=True):
            assert leases.held == frozenset(taken)
    finally:
        for db in dbs:
            await db.close()


async def test_a_webhook_for_another_process_task_reaches_that_process_only(
    pair: tuple[AnyDatabase, AnyDatabase],
) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LIVE)
    b = Leases(pair[1], new_owner("shards:1"), LIVE)
    running, early = await record(pair[0], a, 1), await record(pair[0], a, 2)
    await TaskStore(pair[0]).update(running.id, egg_task_id="gen_running")
    assert await b.pass_hint("gen_running") and await b.pass_hint("gen_early")  # early: no task knows it yet
    assert await pair[0].read(lambda tx: tx.tasks.lease_work(a.owner)) == (False, True)
    assert await b.take_hints() == []  # b follows neither
    assert await a.take_hints() == ["gen_running"]
    assert await a.take_hints() == []  # taken once
    await TaskStore(pair[0]).update(early.id, egg_task_id="gen_early")  # the submit's answer is recorded
    assert await a.take_hints() == ["gen_early"]
    assert await pair[0].transaction(lambda tx: tx.tasks.prune_hints(0.0)) == 0  # nothing left to prune


async def test_kept_webhooks_are_bounded_and_pruned(pair: tuple[AnyDatabase, AnyDatabase]) -> None:
    db = pair[0]
    assert await db.transaction(lambda tx: tx.tasks.add_hint("gen_1", keep=2))
    assert await db.transaction(lambda tx: tx.tasks.add_hint("gen_2", keep=2))
    assert not await db.transaction(lambda tx: tx.tasks.add_hint("gen_3", keep=2))  # full: a forged flood stops here
    assert await db.transaction(lambda tx: tx.tasks.prune_hints(3600.0)) == 0
    assert await db.transaction(lambda tx: tx.tasks.prune_hints(-1.0)) == 2  # older than "a second from now"


async def begin_all(
    pair: tuple[AnyDatabase, AnyDatabase], members: Sequence[int], caps: RunningCaps
) -> tuple[list[Start | Yield], list[TaskRecord]]:
    """Record one task per entry of ``members``, alternating processes, then start them all at once."""
    leases = [Leases(db, new_owner(f"shards:{n}"), LIVE) for n, db in enumerate(pair)]
    tasks = [await record(pair[n % 2], leases[n % 2], n, member) for n, member in enumerate(members)]
    keepers = [books(db, lease) for db, lease in zip(pair, leases, strict=True)]
    starts = await asyncio.gather(
        *(keepers[n % 2].begin_submit(task.id, task.member_id, caps) for n, task in enumerate(tasks))
    )
    return list(starts), tasks


async def test_the_running_cap_holds_for_two_processes_together(pair: tuple[AnyDatabase, AnyDatabase]) -> None:
    starts, tasks = await begin_all(pair, [100 + n for n in range(12)], RunningCaps(total=5, per_member=3))
    assert starts.count(Start.STARTED) == 5
    assert all(start is Start.FULL or isinstance(start, Yield) for start in starts if start is not Start.STARTED)
    # Twelve members waiting in two processes for five places: the five who waited longest start.
    assert [task.member_id for start, task in zip(starts, tasks, strict=True) if start is Start.STARTED] == [
        100 + n for n in range(5)
    ]
    row = await pair[0].fetchone("SELECT COUNT(*) AS n FROM tasks WHERE status = 'submitting'")
    assert row is not None and row["n"] == 5


async def test_a_members_running_limit_holds_across_processes(pair: tuple[AnyDatabase, AnyDatabase]) -> None:
    starts, tasks = await begin_all(pair, [7] * 8 + [8, 8], RunningCaps(total=20, per_member=3))
    mine = [start for start, task in zip(starts, tasks, strict=True) if task.member_id == 7]
    assert mine.count(Start.STARTED) == 3 and set(mine) == {Start.STARTED, Start.MEMBER_FULL}
    assert [start for start, task in zip(starts, tasks, strict=True) if task.member_id == 8] == [Start.STARTED] * 2


async def test_a_task_not_queued_or_not_ours_does_not_start(pair: tuple[AnyDatabase, AnyDatabase]) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LIVE)
    b = Leases(pair[1], new_owner("shards:1"), LIVE)
    task = await record(pair[0], a)
    caps = RunningCaps(total=5, per_member=3)
    assert await books(pair[1], b).begin_submit(task.id, task.member_id, caps) is Start.GONE  # a holds it
    assert await books(pair[0], a).begin_submit(task.id, task.member_id, caps) is Start.STARTED
    assert await books(pair[0], a).begin_submit(task.id, task.member_id, caps) is Start.GONE  # started already
