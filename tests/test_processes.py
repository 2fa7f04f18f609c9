"""The request budget shared by the bot processes on one database, on both backends.

"Processes" are storage instances on the test's one database (an SQLite file opened several times,
or several PostgreSQL pools), each with its own ``RequestBudget`` and ``ProcessRegistry``: what
several bot processes are to the database. The tests call ``look`` (what each process's loop does
every ``EGGBOT_LEASE_CHECK_INTERVAL``) in the order they want; a heartbeat is made to lapse by
writing an old one, never by waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from bot.clock import to_iso
from bot.eggapi import RequestBudget
from bot.lifecycle.leases import new_owner
from bot.lifecycle.processes import ProcessRegistry
from testkit.backends import AnyDatabase, Backend

RATE = 12.0
TTL = 60.0


@pytest.fixture
async def opened(backend: Backend) -> AsyncIterator[Callable[[], AnyDatabase]]:
    """Opens one more process's storage on the test's database (all closed afterwards)."""
    dbs: list[AnyDatabase] = []

    async def open_one() -> AnyDatabase:
        db = await backend.open()
        dbs.append(db)
        return db

    yield open_one  # type: ignore[misc]
    for db in reversed(dbs):
        await db.close()


async def process(opened: Callable[[], object], seat: str) -> ProcessRegistry:
    """A process of ``seat`` on the database, registered (its loop is not run: the test looks for it)."""
    db = await opened()  # type: ignore[misc]
    registry = ProcessRegistry(db, new_owner(seat), RequestBudget(RATE), ttl=TTL, interval=1.0)
    registry._apply(await db.transaction(registry._register))
    return registry


def budget(registry: ProcessRegistry) -> RequestBudget:
    return registry._budget


async def lapse(backend: Backend, db: AnyDatabase, registry: ProcessRegistry) -> None:
    """Make ``registry``'s heartbeat old, as if its process had been frozen or killed long ago."""
    old = datetime(2000, 1, 1, tzinfo=UTC)
    value: object = old if backend.postgres else to_iso(old)
    await db.transaction(
        lambda tx: tx.execute("UPDATE processes SET heartbeat_at = ? WHERE owner = ?", (value, registry.owner))
    )


async def test_one_process_alone_has_the_whole_rate_at_once(opened: Callable[[], AnyDatabase]) -> None:
    alone = await process(opened, "all")
    await alone.look()
    assert (alone.share, alone.live, alone.joining, budget(alone).held) == (RATE, 1, False, False)
    assert await budget(alone).acquire() >= 0  # granted without waiting for anyone


async def test_processes_share_the_rate_and_a_newcomer_waits_for_the_others_to_make_room(
    opened: Callable[[], AnyDatabase],
) -> None:
    a = await process(opened, "shards:0")
    b = await process(opened, "shards:1")
    assert (a.share, b.share) == (RATE, RATE / 2)  # a has not looked yet: b must not send meanwhile
    assert b.joining and budget(b).held
    await b.look()
    assert b.joining  # a has still not seen b
    await a.look()
    assert a.share == RATE / 2
    await b.look()
    assert not b.joining and not budget(b).held
    assert budget(b).paused_for > 0.5  # a's grants at its old share age out of the window first

    c = await process(opened, "shards:2")
    assert c.share == RATE / 3 and c.joining
    await a.look()
    await c.look()
    assert c.joining  # b has not seen it
    await b.look()
    await c.look()
    assert [p.share for p in (a, b, c)] == [RATE / 3] * 3
    assert not c.joining and [p.live for p in (a, b, c)] == [3, 3, 3]


async def test_shares_grow_back_when_a_process_stops_or_its_heartbeat_lapses(
    opened: Callable[[], AnyDatabase], backend: Backend
) -> None:
    a = await process(opened, "shards:0")
    b = await process(opened, "shards:1")
    c = await process(opened, "shards:2")
    for registry in (a, b, c, a, b, c):
        await registry.look()
    assert a.share == RATE / 3

    await c.close()  # a clean stop
    await a.look()
    assert a.share == RATE / 2

    await lapse(backend, a._storage, b)  # type: ignore[arg-type]  # frozen, or killed long ago
    await a.look()
    assert (a.share, a.live) == (RATE, 1)

    await b.look()  # back from its freeze: a has taken its share meanwhile, so b joins again and waits
    assert b.joining and budget(b).held and b.share == RATE / 2
    await a.look()
    await b.look()
    assert (a.share, b.share, b.joining) == (RATE / 2, RATE / 2, False)


async def test_a_restart_in_the_same_seat_replaces_the_earlier_process_at_once(
    opened: Callable[[], AnyDatabase],
) -> None:
    killed = await process(opened, "shards:0")  # never deregisters: its heartbeat would last a whole TTL
    other = await process(opened, "shards:1")
    await killed.look()
    await other.look()
    restarted = await process(opened, "shards:0")
    assert (restarted.share, restarted.joining) == (RATE / 2, False)  # the other saw its seat already
    await other.look()
    assert other.live == 2


async def test_a_429_told_to_one_process_pauses_and_slows_all_of_them_once(
    opened: Callable[[], AnyDatabase],
) -> None:
    a = await process(opened, "shards:0")
    b = await process(opened, "shards:1")
    c = await process(opened, "shards:2")
    for registry in (a, b, c, a, b, c):
        await registry.look()
    share = RATE / 3
    assert [budget(p).rate for p in (a, b, c)] == [share] * 3

    budget(a).penalise(30.0, slow_down=True)  # EggAPI: 429, Retry-After 30
    budget(c).penalise(30.0, slow_down=True, sent_at=0.0)  # c hit the same overload itself
    assert budget(b).paused_for <= 1 and budget(b).rate == share  # at most the second it waited to join
    for registry in (a, c, b, c, a, b):
        await registry.look()
    assert budget(a).rate == budget(b).rate == budget(c).rate == share / 2  # halved once each, not twice
    assert budget(b).paused_for > 20  # Retry-After, on the database's clock

    budget(b).penalise(None, slow_down=False)  # a 503: a pause, no slowdown
    await b.look()
    await a.look()
    assert budget(a).rate == share / 2
