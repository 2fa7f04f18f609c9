"""Whose turn it is across processes, on both backends: ``fair_turns`` and the starts it decides.

"Two processes" are two storage instances on one database, each with its own ``Leases`` (as in
``test_leases``). A task is put where a test needs it (running, served at some time) by writing its
row directly; a lease is made to lapse by giving it no time at all, never by waiting.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bot.clock import utcnow
from bot.ledger import Ledger, LedgerDefaults
from bot.lifecycle.intake import JobService
from bot.lifecycle.leases import LeaseConfig, Leases, new_owner
from bot.lifecycle.model import UPSTREAM, ImagineRequest, TaskRecord, TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper, RunningCaps, Start, Yield
from bot.storage import WaitingMember
from testkit.backends import AnyDatabase

LIVE = LeaseConfig(ttl=60.0, renew_interval=20.0, check_interval=1.0)
LAPSING = LeaseConfig(ttl=0.0, renew_interval=0.0, check_interval=1.0)  # lapsed as soon as granted
LONG_AGO = utcnow() - timedelta(hours=2)
LATELY = utcnow() - timedelta(minutes=1)


def ledger(db: AnyDatabase) -> Ledger:
    return Ledger(db, LedgerDefaults(member_limit=Decimal("100"), period="day"))


async def queue(db: AnyDatabase, leases: Leases, member: int, n: int = 1) -> list[TaskRecord]:
    """``n`` jobs of ``member`` recorded by the process ``leases`` belongs to (it holds their leases)."""
    store = TaskStore(db)
    jobs = JobService(db, store, ledger(db), Bookkeeper(db, store, ledger(db)), leases=leases)
    return [
        await jobs.create(ImagineRequest(guild_id=1, channel_id=2, member_id=member, prompt=f"fox {k}"))
        for k in range(n)
    ]


async def run(db: AnyDatabase, task: TaskRecord, submitted_at: datetime) -> None:
    """The task went upstream at ``submitted_at`` (running now)."""
    await db.transaction(
        lambda tx: tx.tasks.move(
            task.id, [TaskStatus.QUEUED], TaskStatus.RUNNING, utcnow(), {"submitted_at": submitted_at}
        )
    )


async def served(db: AnyDatabase, leases: Leases, member: int, at: datetime) -> None:
    """The member had a job submitted at ``at``, delivered since."""
    [task] = await queue(db, leases, member)
    await run(db, task, at)
    await db.transaction(lambda tx: tx.tasks.move(task.id, [TaskStatus.RUNNING], TaskStatus.DELIVERED, utcnow(), {}))


async def turns(db: AnyDatabase, owner: str, *, per_member: int = 2, limit: int = 10) -> list[WaitingMember]:
    return await db.transaction(
        lambda tx: tx.tasks.fair_turns(owner, UPSTREAM, per_member=per_member, limit=limit, recent=1000)
    )


def books(db: AnyDatabase, leases: Leases) -> Bookkeeper:
    return Bookkeeper(db, TaskStore(db), ledger(db)).fenced(leases.owner)


async def test_waiting_members_of_every_live_process_fairest_first(pair: tuple[AnyDatabase, AnyDatabase]) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LIVE)
    b = Leases(pair[1], new_owner("shards:1"), LIVE)
    dead = Leases(pair[1], new_owner("shards:2"), LAPSING)  # stopped renewing: its line holds nobody up
    busy = await queue(pair[0], a, 1, 3)  # member 1 in a: one running, two waiting
    await run(pair[0], busy[0], LATELY)
    await served(pair[1], b, 2, LONG_AGO)
    await queue(pair[1], b, 2)  # member 2 in b: served long ago
    await queue(pair[1], b, 3)  # member 3 in b: never served
    await served(pair[0], a, 4, LATELY)
    await queue(pair[0], a, 4)  # member 4 in a: served lately
    await queue(pair[0], dead, 5)  # member 5: only in the dead process's line
    capped = await queue(pair[0], a, 6, 3)  # member 6 in a: at their running cap (2 here), not waiting for a place
    for task in capped[:2]:
        await run(pair[0], task, LATELY)
    await queue(pair[1], b, 1)  # member 1 waits in b too: one member, counted once

    assert await turns(pair[0], a.owner) == [
        WaitingMember(3, owned=False),  # fewest running, never served
        WaitingMember(2, owned=False),  # served longest ago
        WaitingMember(4, owned=True),
        WaitingMember(1, owned=True),  # one running already
    ]
    assert await turns(pair[1], b.owner) == [
        WaitingMember(3, owned=True),
        WaitingMember(2, owned=True),
        WaitingMember(4, owned=False),
        WaitingMember(1, owned=True),
    ]
    assert await turns(pair[0], a.owner, limit=2) == [WaitingMember(3, owned=False), WaitingMember(2, owned=False)]
    assert [w.member_id for w in await turns(pair[0], a.owner, per_member=3)] == [3, 2, 4, 1, 6]


async def test_one_process_alone_is_asked_nothing(pair: tuple[AnyDatabase, AnyDatabase]) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LIVE)
    dead = Leases(pair[1], new_owner("shards:1"), LAPSING)
    await queue(pair[0], a, 1, 2)
    await queue(pair[1], dead, 2)  # a lapsed lease: that process is gone
    assert await turns(pair[0], a.owner) == []


async def test_a_start_yields_to_a_fairer_member_waiting_in_another_process(
    pair: tuple[AnyDatabase, AnyDatabase],
) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LIVE)
    b = Leases(pair[1], new_owner("shards:1"), LIVE)
    caps = RunningCaps(total=2, per_member=3)
    x = await queue(pair[0], a, 10, 3)  # member 10 in a: one running, two waiting
    await run(pair[0], x[0], LATELY)
    [y] = await queue(pair[1], b, 20)  # member 20 in b: never served; one place left for both

    assert await books(pair[0], a).begin_submit(x[1].id, 10, caps) == Yield(turn=None, ahead=1)
    assert await books(pair[1], b).begin_submit(y.id, 20, caps) is Start.STARTED
    assert await books(pair[0], a).begin_submit(x[1].id, 10, caps) is Start.FULL  # y took the place


async def test_a_start_yields_to_its_own_process_member_whose_turn_it_is(
    pair: tuple[AnyDatabase, AnyDatabase],
) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LIVE)
    b = Leases(pair[1], new_owner("shards:1"), LIVE)
    caps = RunningCaps(total=4, per_member=3)
    x = await queue(pair[0], a, 10, 3)
    await run(pair[0], x[0], LATELY)
    [v] = await queue(pair[0], a, 11)  # member 11 in a: never served
    await served(pair[1], b, 20, LATELY)
    await queue(pair[1], b, 20)  # member 20 in b: served lately
    other = await queue(pair[1], b, 21)
    await run(pair[1], other[0], LATELY)  # two places left

    assert await books(pair[0], a).begin_submit(x[1].id, 10, caps) == Yield(turn=11, ahead=0)
    assert await books(pair[0], a).begin_submit(v.id, 11, caps) is Start.STARTED
    assert await books(pair[0], a).begin_submit(x[1].id, 10, caps) == Yield(turn=None, ahead=1)  # 20 is next


async def test_alone_or_beside_a_dead_process_a_start_never_yields(pair: tuple[AnyDatabase, AnyDatabase]) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LIVE)
    dead = Leases(pair[1], new_owner("shards:1"), LAPSING)
    caps = RunningCaps(total=2, per_member=3)
    x = await queue(pair[0], a, 10, 3)
    await run(pair[0], x[0], LATELY)
    await queue(pair[0], a, 11)  # never served, but in this process's own line: its round robin decides
    await queue(pair[1], dead, 20)  # never served, in the line of a process whose leases lapsed
    assert await books(pair[0], a).begin_submit(x[1].id, 10, caps) is Start.STARTED


async def test_with_room_for_everyone_waiting_nobody_yields(pair: tuple[AnyDatabase, AnyDatabase]) -> None:
    a = Leases(pair[0], new_owner("shards:0"), LIVE)
    b = Leases(pair[1], new_owner("shards:1"), LIVE)
    caps = RunningCaps(total=5, per_member=3)
    x = await queue(pair[0], a, 10, 3)
    await run(pair[0], x[0], LATELY)
    await queue(pair[1], b, 20)
    await queue(pair[1], b, 21)  # three waiting members, four places
    assert await books(pair[0], a).begin_submit(x[1].id, 10, caps) is Start.STARTED
