"""Moderators' top-ups and resets against a real SQLite file: this period only, atomic, reported."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.ledger import AdjustmentKind, AdjustmentResult, QuotaExceeded, QuotaReason
from bot.reports import UsageReports, adjusted
from testkit.backends import AnyDatabase, Backend
from tests.test_ledger import GUILD, MEMBER, WEDNESDAY, D, count_rows, make_ledger, refused, reserve

MOD = 99
THURSDAY = WEDNESDAY + timedelta(days=1)
Z = D("0")


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[AnyDatabase]:
    async with await backend.open() as database:
        yield database


async def test_top_up_raises_the_budget_this_period_only(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.02"))
    await reserve(ledger, db, count=2)
    assert (await refused(ledger, db)).reason is QuotaReason.MEMBER_LIMIT
    result = await ledger.top_up(GUILD, MEMBER, D("0.03"), moderator_id=MOD, now=WEDNESDAY)
    assert result.adjustment.kind is AdjustmentKind.TOPUP and result.adjustment.amount == D("0.03")
    assert result.adjustment.moderator_id == MOD and result.adjustment.created_at == WEDNESDAY
    assert (result.before.available, result.before.topup) == (Z, Z)
    assert (result.after.available, result.after.topup, result.after.limit) == (D("0.03"), D("0.03"), D("0.02"))
    await reserve(ledger, db, count=3)  # the top-up is spent by holds like the limit
    assert (await refused(ledger, db)).available == 0
    # The next day the top-up is gone: the limit alone again.
    tomorrow = await ledger.balance(GUILD, MEMBER, [], THURSDAY)
    assert (tomorrow.limit, tomorrow.topup, tomorrow.available) == (D("0.02"), Z, D("0.02"))
    await reserve(ledger, db, count=2, now=THURSDAY)
    assert (await refused(ledger, db, now=THURSDAY)).available == 0


async def test_top_up_must_be_positive(db: AnyDatabase) -> None:
    ledger = make_ledger(db)
    for amount in (D("0"), D("-1")):
        with pytest.raises(ValueError):
            await ledger.top_up(GUILD, MEMBER, amount, moderator_id=MOD)
    assert await count_rows(db, "ledger_adjustments") == 0


async def test_reset_forgives_settled_spend_this_period_but_not_running_holds(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.05"))
    done = await reserve(ledger, db, count=3)
    await ledger.settle(done.task_id, D("0.04"))
    running = await reserve(ledger, db, count=1)
    assert (await refused(ledger, db)).reason is QuotaReason.MEMBER_LIMIT
    result = await ledger.reset_spend(GUILD, MEMBER, moderator_id=MOD, now=WEDNESDAY)
    assert result.adjustment.kind is AdjustmentKind.RESET and result.adjustment.amount == D("0.04")
    assert (result.before.spent, result.before.available) == (D("0.04"), Z)
    after = result.after
    assert (after.settled, after.forgiven, after.spent, after.reserved) == (D("0.04"), D("0.04"), Z, D("0.01"))
    assert after.available == D("0.04")  # the running job's hold still counts
    await ledger.settle(running.task_id, D("0.01"))  # settled after the reset: it counts
    bal = await ledger.balance(GUILD, MEMBER, [], WEDNESDAY)
    assert (bal.spent, bal.available) == (D("0.01"), D("0.04"))
    again = await ledger.reset_spend(GUILD, MEMBER, moderator_id=MOD, now=WEDNESDAY)
    assert again.adjustment.amount == D("0.01") and again.after.available == D("0.05")
    # Nothing carries over: the next period knows nothing of it.
    tomorrow = await ledger.balance(GUILD, MEMBER, [], THURSDAY)
    assert (tomorrow.settled, tomorrow.forgiven, tomorrow.available) == (Z, Z, D("0.05"))


async def test_reset_clears_an_overdraft_but_not_the_server_cap(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.05"))
    await ledger.set_server_cap(GUILD, D("0.08"))
    hold = await reserve(ledger, db, count=4)
    await ledger.settle(hold.task_id, D("0.07"))
    result = await ledger.reset_spend(GUILD, MEMBER, moderator_id=MOD)
    assert (result.before.overdrawn, result.after.overdrawn) == (D("0.02"), Z)
    assert result.after.server_available == D("0.01")  # EggAPI was paid: the cap still counts it
    assert (await refused(ledger, db, count=2)).reason is QuotaReason.SERVER_CAP


async def test_a_reset_racing_reservations_never_overdraws(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.20"))
    for _ in range(10):
        hold = await reserve(ledger, db)
        await ledger.settle(hold.task_id, D("0.01"))

    async def attempt() -> bool:
        try:
            await reserve(ledger, db)
        except QuotaExceeded:
            return False
        return True

    reserving = [attempt() for _ in range(40)]
    results = await asyncio.gather(
        *reserving[:20], ledger.reset_spend(GUILD, MEMBER, moderator_id=MOD), *reserving[20:]
    )
    reset = results[20]
    granted = [r for r in results if r is True]
    assert isinstance(reset, AdjustmentResult) and reset.adjustment.amount == D("0.10")
    # The limit plus exactly what was forgiven was ever held, never more: 10 before + 10 + 10 after.
    assert len(granted) == 20
    bal = await ledger.balance(GUILD, MEMBER, [], WEDNESDAY)
    assert (bal.settled, bal.forgiven, bal.reserved, bal.available, bal.overdrawn) == (
        D("0.10"),
        D("0.10"),
        D("0.20"),
        Z,
        Z,
    )


async def test_adjustments_are_visible_to_the_reports(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.05"))
    hold = await reserve(ledger, db, count=2)
    await ledger.settle(hold.task_id, D("0.02"))
    await ledger.top_up(GUILD, MEMBER, D("0.50"), moderator_id=MOD)
    await ledger.reset_spend(GUILD, MEMBER, moderator_id=MOD)
    await ledger.top_up(GUILD, 4, D("0.25"), moderator_id=MOD)
    await ledger.top_up(GUILD + 1, MEMBER, D("9"), moderator_id=MOD)  # another server's: never reported here
    reports = UsageReports(db, ledger, clock=lambda: WEDNESDAY)
    mine = await reports.member_report(GUILD, MEMBER, [], "current")
    assert [(a.kind, a.amount) for a in mine.adjustments] == [
        (AdjustmentKind.RESET, D("0.02")),
        (AdjustmentKind.TOPUP, D("0.50")),
    ]
    assert mine.totals.settled == D("0.02")  # EggAPI's charge stays accounted
    assert (mine.balance.topup, mine.balance.forgiven, mine.balance.available) == (D("0.50"), D("0.02"), D("0.55"))
    server = await reports.guild_report(GUILD, "current")
    assert adjusted(server.adjustments, AdjustmentKind.TOPUP) == D("0.75")
    assert adjusted(server.adjustments, AdjustmentKind.RESET) == D("0.02")
    assert {a.member_id for a in server.adjustments} == {MEMBER, 4}
    later = await UsageReports(db, ledger, clock=lambda: THURSDAY).member_report(GUILD, MEMBER, [], "current")
    assert later.adjustments == [] and (later.balance.topup, later.balance.forgiven) == (Z, Z)
