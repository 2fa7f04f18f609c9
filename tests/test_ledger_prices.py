"""Prices holds use: a floor, the usage summary and each completed task's own cost (real SQLite file)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bot.eggapi import UsageRow
from bot.ledger import RECENT_TASK_PRICES, Charge, Hold, LedgerDefaults, QuotaExceeded, QuotaReason
from bot.lifecycle.model import ImagineRequest
from bot.lifecycle.task_store import TaskStore
from testkit.backends import AnyDatabase, AnyTx, Backend
from tests.test_ledger import GUILD, MEMBER, WEDNESDAY, count_rows, make_ledger, refused, reserve

D = Decimal


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[AnyDatabase]:
    async with await backend.open() as database:
        yield database


async def test_unit_price_from_usage_summary_never_below_the_floor(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("1"), unit_price=D("0.01"))
    assert await ledger.unit_price() == D("0.01")
    assert (await reserve(ledger, db, count=2)).reserved == D("0.02")
    await ledger.update_prices(
        [UsageRow("nanobanana", D(10), D("0.1600"), 10), UsageRow("nanobanana-pro", D(0), D("0"), 3)]
    )
    assert await ledger.unit_price() == D("0.016")
    assert await ledger.unit_price("nanobanana-pro") == D("0.01")  # zero units: still the floor
    assert (await reserve(ledger, db, count=2)).reserved == D("0.032")
    await ledger.update_prices([UsageRow("nanobanana", D(0), D("0"), 0)])  # keeps the known price
    assert await ledger.unit_price() == D("0.016")
    await ledger.update_prices([UsageRow("nanobanana", D(3), D("1"), 3)])
    assert await ledger.unit_price() == D("0.333334")  # rounded up, never under-reserved
    row = await db.fetchone("SELECT unit_price, updated_at FROM ledger_prices WHERE model = 'nanobanana'")
    assert row is not None and str(row["unit_price"]) == "0.333334"
    assert str(row["updated_at"]).endswith("+00:00")  # stored in UTC (SQLite: ISO text; PostgreSQL: timestamptz)
    await ledger.update_prices([UsageRow("nanobanana", D(100), D("0.50"), 100)])
    assert await ledger.unit_price() == D("0.01")  # an average below the floor: the floor


async def test_a_zero_price_from_the_summary_is_never_used(db: AnyDatabase) -> None:
    """D7: ``{"total_units": 10, "total_cost": "$0.00"}`` made every hold free and accepted everything."""
    ledger = make_ledger(db, member_limit=D("0.02"), unit_price=D("0.01"))
    await ledger.update_prices([UsageRow("nanobanana", D(10), D("0.00"), 10)])
    assert await ledger.unit_price() == D("0.01")
    assert (await reserve(ledger, db, count=2)).reserved == D("0.02")
    assert (await refused(ledger, db, count=2)).reason is QuotaReason.MEMBER_LIMIT


def test_the_floor_price_must_be_above_zero() -> None:
    with pytest.raises(ValueError):
        LedgerDefaults(member_limit=D("1"), period="day", unit_price=D("0"))


async def test_holds_use_the_highest_recent_price_per_image(db: AnyDatabase) -> None:
    """D7: the summary's average lags a price rise; each completed task's own cost shows it at once."""
    ledger = make_ledger(db, member_limit=D("1"), unit_price=D("0.01"))
    first = await reserve(ledger, db, count=2)
    assert await ledger.settle(first.task_id, Charge(D("0.06"), images=2))
    assert await ledger.unit_price() == D("0.03")
    assert (await reserve(ledger, db, count=2)).reserved == D("0.06")
    await ledger.update_prices([UsageRow("nanobanana", D(100), D("1.00"), 100)])  # an average of $0.01
    assert await ledger.unit_price() == D("0.03")  # the highest evidence wins
    await ledger.update_prices([UsageRow("nanobanana", D(10), D("0.50"), 10)])
    assert await ledger.unit_price() == D("0.05")
    await ledger.update_prices([UsageRow("nanobanana", D(100), D("1.00"), 100)])
    for charge in (Charge(D("0.40"), images=1, estimated=True), Charge(D("0"), images=2), Charge(D("0.09"))):
        assert await ledger.settle((await reserve(ledger, db)).task_id, charge)  # none of them is evidence
    assert await ledger.unit_price() == D("0.03")
    third = await reserve(ledger, db, count=3)
    assert await ledger.settle(third.task_id, Charge(D("0.10"), images=3))  # rounded up per image
    assert await ledger.unit_price() == D("0.033334")


async def test_only_recent_task_prices_count(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("10"), unit_price=D("0.01"))
    dear = await reserve(ledger, db)
    assert await ledger.settle(dear.task_id, Charge(D("0.05"), images=1))
    for _ in range(RECENT_TASK_PRICES - 1):
        assert await ledger.settle((await reserve(ledger, db)).task_id, Charge(D("0.02"), images=1))
    assert await ledger.unit_price() == D("0.05")
    assert await ledger.settle((await reserve(ledger, db)).task_id, Charge(D("0.02"), images=1))
    assert await ledger.unit_price() == D("0.02")  # the dear one is no longer recent
    assert await count_rows(db, "ledger_task_prices") == RECENT_TASK_PRICES


async def test_a_price_learned_after_the_terms_were_read_prices_the_hold(db: AnyDatabase) -> None:
    """Terms are read before the transaction; a price learned meanwhile must still price the hold."""
    ledger = make_ledger(db, member_limit=D("1"), unit_price=D("0.01"))
    running = await reserve(ledger, db)
    req = ImagineRequest(guild_id=GUILD, channel_id=2, member_id=MEMBER, prompt="a fox", count=2)
    terms = await ledger.terms(guild_id=GUILD, member_id=MEMBER, role_ids=(), count=2)
    assert await ledger.settle(running.task_id, Charge(D("0.04"), images=1))

    def record(tx: AnyTx) -> Hold:
        return ledger.reserve_in(tx, terms, task_id=TaskStore(db).insert(tx, req).id, now=WEDNESDAY)

    assert (await db.transaction(record)).reserved == D("0.08")


async def test_concurrent_jobs_after_a_price_rise_stay_within_the_limit(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.10"), unit_price=D("0.01"))
    first = await reserve(ledger, db)
    assert await ledger.settle(first.task_id, Charge(D("0.02"), images=1))  # EggAPI now charges $0.02
    results = await asyncio.gather(*(reserve(ledger, db) for _ in range(10)), return_exceptions=True)
    held = [r for r in results if isinstance(r, Hold)]
    assert len(held) == 4 and all(isinstance(r, QuotaExceeded) for r in results if not isinstance(r, Hold))
    for hold in held:
        assert await ledger.settle(hold.task_id, Charge(D("0.02"), images=1))
    assert (await ledger.balance(GUILD, MEMBER, [], WEDNESDAY)).settled == D("0.10")
