"""Quota ledger: holds, settlement, periods, policy, prices and budgets against a real SQLite file."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.app.replies import describe_error
from bot.eggapi import UsageRow
from bot.errors import UserFacingError
from bot.ledger import (
    DM_GUILD,
    Charge,
    Hold,
    HoldState,
    Ledger,
    LedgerDefaults,
    MemberSpend,
    QuotaExceeded,
    QuotaReason,
    period_bounds,
)
from bot.lifecycle.model import ImagineRequest, TaskStatus
from bot.lifecycle.task_store import TaskStore
from cogs._shared.text import when
from testkit.backends import AnyDatabase, AnyTx, Backend

D = Decimal
WEDNESDAY = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)
GUILD, MEMBER = 1, 3
RELATIVE = re.compile(r"<t:(\d+):R>")


class Clock:
    """A settable clock for the ledger's own timestamps."""

    def __init__(self, now: datetime = WEDNESDAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[AnyDatabase]:
    async with await backend.open() as database:
        yield database


def make_ledger(db: AnyDatabase, **overrides: object) -> Ledger:
    values: dict[str, object] = {"member_limit": D("0.10"), "period": "day"}
    values.update(overrides)
    return Ledger(db, LedgerDefaults(**values), clock=Clock())  # type: ignore[arg-type]


async def reserve(
    ledger: Ledger,
    db: AnyDatabase,
    *,
    guild: int | None = GUILD,
    member: int = MEMBER,
    roles: Sequence[int] = (),
    count: int = 1,
    now: datetime = WEDNESDAY,
) -> Hold:
    """Insert a task row and reserve its hold in one transaction, as the job service does."""
    req = ImagineRequest(guild_id=guild, channel_id=2, member_id=member, prompt="a fox", count=count)
    terms = await ledger.terms(guild_id=guild, member_id=member, role_ids=roles, count=count)

    def record(tx: AnyTx) -> Hold:
        task_id = TaskStore(db).insert(tx, req).id
        return ledger.reserve_in(tx, terms, task_id=task_id, now=now)

    return await db.transaction(record)


def shown(err: QuotaExceeded) -> str:
    """The refusal as a member reads it in Discord."""
    return describe_error(err).text


async def refused(ledger: Ledger, db: AnyDatabase, **kwargs: object) -> QuotaExceeded:
    with pytest.raises(QuotaExceeded) as info:
        await reserve(ledger, db, **kwargs)  # type: ignore[arg-type]
    return info.value


async def count_rows(db: AnyDatabase, table: str) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")
    assert row is not None
    return int(row[0])


# -- holds -------------------------------------------------------------------------------------


async def test_reserve_holds_count_times_price_in_the_creation_period(db: AnyDatabase) -> None:
    ledger = make_ledger(db)
    hold = await reserve(ledger, db, count=3)
    assert hold.reserved == D("0.03") and hold.state is HoldState.ACTIVE and hold.settled is None
    assert hold.period_start == datetime(2025, 3, 12, tzinfo=UTC)
    assert await ledger.hold(hold.task_id) == hold
    bal = await ledger.balance(GUILD, MEMBER, [], WEDNESDAY)
    assert (bal.limit, bal.settled, bal.reserved, bal.available) == (D("0.10"), 0, D("0.03"), D("0.07"))
    assert bal.resets_at == datetime(2025, 3, 13, tzinfo=UTC) and not bal.exempt and not bal.paused


async def test_refusal_writes_nothing_and_rolls_back_the_task_row(db: AnyDatabase) -> None:
    ledger = make_ledger(db)
    await reserve(ledger, db, count=4)
    await reserve(ledger, db, count=4)
    err = await refused(ledger, db, count=4)
    assert isinstance(err, UserFacingError)
    assert err.reason is QuotaReason.MEMBER_LIMIT
    assert (err.available, err.needed) == (D("0.02"), D("0.04"))
    assert err.resets_at == datetime(2025, 3, 13, tzinfo=UTC)
    assert "This request needs $0.04, but you have only $0.02 left of your daily image budget" in err.user_message
    assert "<t:1741824000:R>" in shown(err)
    assert await count_rows(db, "tasks") == 2 and await count_rows(db, "ledger_holds") == 2


async def test_settle_smaller_cost_frees_the_difference(db: AnyDatabase) -> None:
    ledger = make_ledger(db)
    hold = await reserve(ledger, db, count=4)
    assert await ledger.settle(hold.task_id, D("0.0200"))
    bal = await ledger.balance(GUILD, MEMBER, [], WEDNESDAY)
    assert (bal.settled, bal.reserved, bal.available) == (D("0.02"), 0, D("0.08"))
    settled = await ledger.hold(hold.task_id)
    assert settled is not None and settled.state is HoldState.SETTLED and settled.amount == D("0.02")


async def test_settle_larger_cost_is_recorded_as_is_and_the_overdraft_shown(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.05"))
    hold = await reserve(ledger, db, count=4)
    assert await ledger.settle(hold.task_id, D("0.07"))
    bal = await ledger.balance(GUILD, MEMBER, [], WEDNESDAY)
    assert (bal.settled, bal.reserved, bal.available, bal.overdrawn) == (D("0.07"), 0, 0, D("0.02"))
    err = await refused(ledger, db)
    assert (err.available, err.overdrawn) == (0, D("0.02"))
    assert shown(err).startswith(
        "Your recent images cost more than was reserved for them, so you're $0.02 over your daily image budget "
        "($0.05). New images can start once that is covered. It resets <t:"
    )
    assert "$0.00" not in err.user_message  # nothing "left" to announce
    cap = QuotaExceeded(QuotaReason.SERVER_CAP, available=D("-0.01"), needed=D("0.01"), resets_at=None, limit=D("1"))
    assert cap.user_message.startswith("This server's recent images cost more than was reserved for them")
    assert "$0.01 over its shared daily image budget ($1.00)" in cap.user_message


async def test_release_on_failure_costs_nothing(db: AnyDatabase) -> None:
    ledger = make_ledger(db)
    hold = await reserve(ledger, db, count=4)
    assert await ledger.release(hold.task_id)
    released = await ledger.hold(hold.task_id)
    assert released is not None and released.state is HoldState.RELEASED and released.amount == 0
    bal = await ledger.balance(GUILD, MEMBER, [], WEDNESDAY)
    assert (bal.settled, bal.reserved, bal.available) == (0, 0, D("0.10"))
    assert await ledger.period_totals(GUILD, WEDNESDAY - timedelta(days=1), WEDNESDAY + timedelta(days=1)) == []


async def test_settle_and_release_are_idempotent(db: AnyDatabase) -> None:
    ledger = make_ledger(db)
    first = await reserve(ledger, db, count=2)
    second = await reserve(ledger, db, count=2)
    assert await ledger.settle(first.task_id, D("0.02"))
    assert not await ledger.settle(first.task_id, D("0.05"))  # second settle: no change
    assert not await ledger.release(first.task_id)  # a settled hold stays settled
    assert await ledger.release(second.task_id)
    assert not await ledger.release(second.task_id)
    assert not await ledger.settle(second.task_id, D("0.02"))  # a released hold stays free
    assert not await ledger.settle(999, D("0.01")) and not await ledger.release(999)  # no hold at all
    bal = await ledger.balance(GUILD, MEMBER, [], WEDNESDAY)
    assert (bal.settled, bal.reserved) == (D("0.02"), 0)


async def test_in_transaction_variants_commit_or_roll_back_with_the_task(db: AnyDatabase) -> None:
    ledger, tasks = make_ledger(db), TaskStore(db)
    hold = await reserve(ledger, db, count=2)

    def crash(tx: AnyTx) -> None:
        assert tasks.transition_in(tx, hold.task_id, [TaskStatus.QUEUED], TaskStatus.CANCELLED)
        assert ledger.release_in(tx, hold.task_id)
        raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        await db.transaction(crash)
    again = await ledger.hold(hold.task_id)
    assert again is not None and again.state is HoldState.ACTIVE

    def finish(tx: AnyTx) -> None:
        assert tasks.transition_in(tx, hold.task_id, [TaskStatus.QUEUED], TaskStatus.SUBMITTING)
        assert tasks.transition_in(tx, hold.task_id, [TaskStatus.SUBMITTING], TaskStatus.RUNNING)
        assert tasks.transition_in(tx, hold.task_id, [TaskStatus.RUNNING], TaskStatus.COMPLETED)
        assert ledger.settle_in(tx, hold.task_id, D("0.015"))

    await db.transaction(finish)
    done = await ledger.hold(hold.task_id)
    assert done is not None and done.settled == D("0.015")


async def test_unknown_outcome_hold_stays_counted(db: AnyDatabase) -> None:
    ledger = make_ledger(db, account_budget=D("1.00"))
    hold = await reserve(ledger, db, count=4)
    await TaskStore(db).transition(hold.task_id, TaskStatus.QUEUED, TaskStatus.SUBMITTING)
    await TaskStore(db).transition(hold.task_id, TaskStatus.SUBMITTING, TaskStatus.UNKNOWN)
    later = WEDNESDAY + timedelta(hours=8)
    bal = await ledger.balance(GUILD, MEMBER, [], later)
    assert bal.reserved == D("0.04") and bal.available == D("0.06")
    # Next day the member starts afresh, but the unknown hold still counts against the account.
    tomorrow = await ledger.balance(GUILD, MEMBER, [], WEDNESDAY + timedelta(days=1))
    assert tomorrow.reserved == 0
    await ledger.update_prices([UsageRow("nanobanana", D(96), D("0.96"), 96)])  # 0.96 + 0.04 held
    assert await ledger.account_budget_reached()


# -- periods -----------------------------------------------------------------------------------


def test_day_week_month_bounds_in_utc() -> None:
    day = period_bounds("day", "UTC", WEDNESDAY)
    assert day == (datetime(2025, 3, 12, tzinfo=UTC), datetime(2025, 3, 13, tzinfo=UTC))
    week = period_bounds("week", "UTC", WEDNESDAY)
    assert week == (datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC))  # Monday to Monday
    sunday_night = datetime(2025, 3, 16, 23, 59, 59, tzinfo=UTC)
    assert period_bounds("week", "UTC", sunday_night) == week
    assert period_bounds("week", "UTC", week[1])[0] == week[1]
    assert period_bounds("month", "UTC", datetime(2024, 2, 29, 23, 59, tzinfo=UTC)) == (
        datetime(2024, 2, 1, tzinfo=UTC),
        datetime(2024, 3, 1, tzinfo=UTC),
    )
    new_year = datetime(2026, 1, 1, tzinfo=UTC)
    assert period_bounds("month", "UTC", datetime(2025, 12, 31, 23, 59, tzinfo=UTC))[1] == new_year
    assert period_bounds("month", "UTC", datetime(2026, 1, 1, tzinfo=UTC))[0] == datetime(2026, 1, 1, tzinfo=UTC)


def test_bounds_in_los_angeles_around_midnight_and_dst() -> None:
    la = "America/Los_Angeles"
    before = datetime(2025, 3, 13, 6, 59, 59, tzinfo=UTC)  # 23:59:59 PDT on the 12th
    assert period_bounds("day", la, before) == (
        datetime(2025, 3, 12, 7, tzinfo=UTC),
        datetime(2025, 3, 13, 7, tzinfo=UTC),
    )
    assert period_bounds("day", la, before + timedelta(seconds=1))[0] == datetime(2025, 3, 13, 7, tzinfo=UTC)
    dst_day = period_bounds("day", la, datetime(2025, 3, 9, 20, tzinfo=UTC))  # 23-hour day
    assert dst_day == (datetime(2025, 3, 9, 8, tzinfo=UTC), datetime(2025, 3, 10, 7, tzinfo=UTC))
    month_end = datetime(2025, 4, 1, 6, 30, tzinfo=UTC)  # 23:30 PDT on 31 March
    assert period_bounds("month", la, month_end) == (
        datetime(2025, 3, 1, 8, tzinfo=UTC),
        datetime(2025, 4, 1, 7, tzinfo=UTC),
    )
    start, reset = period_bounds("week", la, datetime(2025, 3, 17, 6, tzinfo=UTC))  # Sunday 23:00 PDT
    assert (start, reset) == (datetime(2025, 3, 10, 7, tzinfo=UTC), datetime(2025, 3, 17, 7, tzinfo=UTC))
    assert start.tzinfo is not None and reset.tzinfo is not None
    with pytest.raises(ValueError):
        period_bounds("day", la, datetime(2025, 3, 13))  # naive
    with pytest.raises(ValueError):
        period_bounds("fortnight", la, WEDNESDAY)


async def test_daily_roll_over_in_a_guild_timezone(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.04"))
    await ledger.set_guild_defaults(GUILD, timezone="America/Los_Angeles")
    late = datetime(2025, 3, 13, 6, 59, tzinfo=UTC)  # 23:59 on the 12th in LA
    hold = await reserve(ledger, db, count=4, now=late)
    err = await refused(ledger, db, now=late)
    assert err.resets_at == datetime(2025, 3, 13, 7, tzinfo=UTC) and "<t:1741849200:R>" in shown(err)
    midnight = datetime(2025, 3, 13, 7, tzinfo=UTC)
    assert await ledger.settle(hold.task_id, D("0.05"))  # settled after the reset: counts in its own day
    await reserve(ledger, db, count=4, now=midnight)
    old = await ledger.balance(GUILD, MEMBER, [], late)
    assert old.settled == D("0.05") and old.reserved == 0
    new = await ledger.balance(GUILD, MEMBER, [], midnight)
    assert (new.settled, new.reserved, new.period_start) == (0, D("0.04"), midnight)


async def test_weekly_and_monthly_roll_over(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.02"), period="week")
    sunday = datetime(2025, 3, 16, 23, 59, tzinfo=UTC)
    await reserve(ledger, db, count=2, now=WEDNESDAY)
    assert (await refused(ledger, db, now=sunday)).resets_at == datetime(2025, 3, 17, tzinfo=UTC)
    await reserve(ledger, db, count=2, now=datetime(2025, 3, 17, tzinfo=UTC))
    await ledger.set_guild_defaults(GUILD, period="month")
    month_end = datetime(2025, 3, 31, 23, 59, tzinfo=UTC)
    err = await refused(ledger, db, now=month_end)  # both holds are in March
    assert err.period == "month" and err.resets_at == datetime(2025, 4, 1, tzinfo=UTC)
    assert "monthly" in err.user_message
    await reserve(ledger, db, count=2, now=datetime(2025, 4, 1, tzinfo=UTC))


# -- policy ------------------------------------------------------------------------------------


async def test_most_generous_role_wins_and_member_override_beats_roles(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.05"))
    await ledger.set_role_limit(GUILD, 10, D("0.10"))
    await ledger.set_role_limit(GUILD, 20, D("0.20"))
    await ledger.set_role_limit(GUILD, 30, D("0.02"))
    assert (await ledger.balance(GUILD, MEMBER, [10, 20, 99], WEDNESDAY)).limit == D("0.20")
    assert (await ledger.balance(GUILD, MEMBER, [30], WEDNESDAY)).limit == D("0.02")  # lower than the default
    assert (await ledger.balance(GUILD, MEMBER, [99], WEDNESDAY)).limit == D("0.05")
    await reserve(ledger, db, roles=[30], count=2)
    assert (await refused(ledger, db, roles=[30])).reason is QuotaReason.MEMBER_LIMIT
    await reserve(ledger, db, roles=[30, 10], count=4)
    await ledger.set_member_limit(GUILD, MEMBER, D("0.01"))
    assert (await ledger.balance(GUILD, MEMBER, [20], WEDNESDAY)).limit == D("0.01")
    await ledger.set_member_limit(GUILD, MEMBER, None)
    await ledger.set_role_limit(GUILD, 20, None)
    assert (await ledger.balance(GUILD, MEMBER, [20], WEDNESDAY)).limit == D("0.05")


async def test_exempt_role_has_no_member_limit(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.01"))
    await ledger.set_role_limit(GUILD, 10, D("0.02"))
    await ledger.set_role_exempt(GUILD, 77, True)
    for _ in range(5):
        await reserve(ledger, db, roles=[10, 77], count=4)
    bal = await ledger.balance(GUILD, MEMBER, [77], WEDNESDAY)
    assert bal.exempt and bal.limit is None and bal.available is None and bal.reserved == D("0.20")
    await ledger.set_role_exempt(GUILD, 77, False)
    assert (await refused(ledger, db, roles=[10, 77])).reason is QuotaReason.MEMBER_LIMIT
    policy = await ledger.policy(GUILD)
    assert policy.exempt_roles == frozenset() and policy.role_limits == {10: D("0.02")}


async def test_server_cap_counts_everyone_including_exempt_members(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("1.00"))
    await ledger.set_role_exempt(GUILD, 77, True)
    await ledger.set_server_cap(GUILD, D("0.05"))
    await reserve(ledger, db, member=5, roles=[77], count=4)
    err = await refused(ledger, db, member=6, count=2)
    assert err.reason is QuotaReason.SERVER_CAP and err.available == D("0.01")
    assert "server's shared daily budget has only $0.01 left" in err.user_message and RELATIVE.search(shown(err))
    await reserve(ledger, db, member=6, count=1)
    assert (await refused(ledger, db, member=5, roles=[77])).reason is QuotaReason.SERVER_CAP
    bal = await ledger.balance(GUILD, 6, [], WEDNESDAY)
    assert (bal.server_cap, bal.server_available, bal.available) == (D("0.05"), 0, D("0.99"))
    await reserve(ledger, db, guild=2, member=6, count=4)  # other guilds are not affected
    await ledger.set_server_cap(GUILD, None)
    await reserve(ledger, db, member=6, count=4)


async def test_pause_refuses_everyone_until_resumed(db: AnyDatabase) -> None:
    ledger = make_ledger(db)
    await ledger.set_role_exempt(GUILD, 77, True)
    await ledger.set_paused(GUILD, True)
    err = await refused(ledger, db, roles=[77])
    assert err.reason is QuotaReason.PAUSED and err.resets_at is None and "paused" in err.user_message
    assert (await ledger.balance(GUILD, MEMBER, [], WEDNESDAY)).paused
    await reserve(ledger, db, guild=2)
    await ledger.set_paused(GUILD, False)
    await reserve(ledger, db)


async def test_policy_round_trip_defaults_and_validation(db: AnyDatabase) -> None:
    ledger = make_ledger(db)
    fresh = await ledger.policy(GUILD)
    assert (fresh.member_limit, fresh.period, fresh.timezone, fresh.server_cap, fresh.paused) == (
        D("0.10"),
        "day",
        "UTC",
        None,
        False,
    )
    await ledger.set_guild_defaults(GUILD, limit=D("0"), period="week", timezone="Europe/Berlin")
    await ledger.set_member_limit(GUILD, 8, D("2.50"))
    await ledger.set_server_cap(GUILD, D("10"))
    policy = await ledger.policy(GUILD)
    assert (policy.member_limit, policy.period, policy.timezone, policy.server_cap) == (
        0,
        "week",
        "Europe/Berlin",
        D("10"),
    )
    assert policy.member_limits == {8: D("2.50")}
    assert (await refused(ledger, db)).reason is QuotaReason.MEMBER_LIMIT  # a zero limit is a limit
    await ledger.reset_guild_defaults(GUILD)
    again = await ledger.policy(GUILD)
    assert (again.member_limit, again.period, again.timezone, again.server_cap) == (D("0.10"), "day", "UTC", D("10"))
    for bad in (
        ledger.set_member_limit(GUILD, 8, D("-1")),
        ledger.set_server_cap(GUILD, D("NaN")),
        ledger.set_guild_defaults(GUILD, period="year"),
        ledger.set_guild_defaults(GUILD, timezone="Mars/Olympus"),
    ):
        with pytest.raises(ValueError):
            await bad
    with pytest.raises(ValueError):
        LedgerDefaults(member_limit=D("1"), period="day", timezone="Nowhere/Else")


async def test_dms_are_their_own_guild_with_the_defaults(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.02"))
    await reserve(ledger, db, count=2)
    hold = await reserve(ledger, db, guild=None, count=2)
    assert hold.guild_id is None
    stored = await ledger.hold(hold.task_id)
    assert stored is not None and stored.guild_id is None
    assert (await refused(ledger, db, guild=None)).reason is QuotaReason.MEMBER_LIMIT
    row = await db.fetchone("SELECT guild_id FROM ledger_holds WHERE task_id = ?", (hold.task_id,))
    assert row is not None and row[0] == DM_GUILD


# -- prices and the account budget -------------------------------------------------------------


async def test_account_budget_counts_usage_total_and_active_holds(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("1"), account_budget=D("0.10"))
    assert not await ledger.account_budget_reached()
    await ledger.update_prices([UsageRow("nanobanana", D(6), D("0.06"), 6), UsageRow("other", D(1), D("0.01"), 1)])
    first = await reserve(ledger, db, count=2)
    err = await refused(ledger, db, member=9, guild=2, count=2)
    assert err.reason is QuotaReason.ACCOUNT_BUDGET and err.available == D("0.01") and err.resets_at is None
    assert "overall spending budget ($0.01 left, this request needs $0.02)" in err.user_message
    assert not await ledger.account_budget_reached()
    await reserve(ledger, db, member=9, guild=2, count=1)
    assert await ledger.account_budget_reached()
    assert await ledger.release(first.task_id)  # freed holds make room again
    assert not await ledger.account_budget_reached()
    await reserve(ledger, db, count=2)


# -- reporting ---------------------------------------------------------------------------------


async def test_period_totals_per_member(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("1"))
    a = await reserve(ledger, db, member=5, count=4)
    await reserve(ledger, db, member=5, count=1)
    b = await reserve(ledger, db, member=6, count=2)
    c = await reserve(ledger, db, member=7, count=3)
    await reserve(ledger, db, member=5, count=4, now=WEDNESDAY + timedelta(days=1))
    await reserve(ledger, db, guild=2, member=5, count=4)
    await ledger.settle(a.task_id, D("0.03"))
    await ledger.settle(b.task_id, D("0.02"))
    await ledger.release(c.task_id)
    bal = await ledger.balance(GUILD, 5, [], WEDNESDAY)
    totals = await ledger.period_totals(GUILD, bal.period_start, bal.resets_at)
    assert totals == [MemberSpend(5, D("0.03"), D("0.01"), 2), MemberSpend(6, D("0.02"), D("0"), 1)]


# -- concurrency -------------------------------------------------------------------------------


async def test_sixty_concurrent_reserves_never_overdraw_a_member(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.25"))

    async def attempt() -> bool:
        try:
            await reserve(ledger, db)
        except QuotaExceeded:
            return False
        return True

    results = await asyncio.gather(*(attempt() for _ in range(60)))
    assert results.count(True) == 25
    bal = await ledger.balance(GUILD, MEMBER, [], WEDNESDAY)
    assert bal.reserved == D("0.25") and bal.available == 0
    assert await count_rows(db, "tasks") == 25 and await count_rows(db, "ledger_holds") == 25


async def test_sixty_concurrent_reserves_never_overdraw_the_server_cap(db: AnyDatabase) -> None:
    ledger = make_ledger(db, member_limit=D("0.08"))
    await ledger.set_server_cap(GUILD, D("0.30"))

    async def attempt(i: int) -> QuotaReason | None:
        try:
            await reserve(ledger, db, member=100 + i % 6)
        except QuotaExceeded as err:
            return err.reason
        return None

    results = await asyncio.gather(*(attempt(i) for i in range(60)))
    assert results.count(None) == 30 and set(results) == {None, QuotaReason.SERVER_CAP}
    totals = await ledger.period_totals(GUILD, WEDNESDAY - timedelta(hours=1), WEDNESDAY + timedelta(hours=1))
    assert sum((t.reserved for t in totals), D(0)) == D("0.30")
    assert all(t.reserved <= D("0.08") for t in totals)


def test_discord_relative_timestamp() -> None:
    assert when(datetime(2025, 3, 13, tzinfo=UTC), "R") == "<t:1741824000:R>"


def test_the_core_writes_the_reset_plainly() -> None:
    err = QuotaExceeded(
        QuotaReason.MEMBER_LIMIT,
        available=D(0),
        needed=D("0.01"),
        resets_at=datetime(2025, 3, 13, 7, tzinfo=UTC),
        limit=D("0.10"),
    )
    assert err.user_message == (
        "You've used all of your daily image budget ($0.10). It resets on 2025-03-13 at "
        "07:00 UTC. /balance has the details."
    )
    assert "<t:" not in err.user_message


async def test_account_budget_counts_work_settled_since_the_last_summary(backend: Backend) -> None:
    """Sequential jobs between two usage summaries cannot run past the account budget."""
    async with await backend.open() as db:
        ledger = Ledger(db, LedgerDefaults(member_limit=D("100"), period="day", account_budget=D("0.05")))
        await ledger.update_prices([UsageRow("nanobanana", D(0), D(0), 0)])
        store, made = TaskStore(db), 0
        for i in range(10):
            try:
                tid = (await store.create(ImagineRequest(guild_id=1, channel_id=2, member_id=3 + i, prompt="p"))).id
                await ledger.reserve(task_id=tid, guild_id=1, member_id=3 + i, role_ids=[], count=1)
            except QuotaExceeded as exc:
                assert exc.reason is QuotaReason.ACCOUNT_BUDGET
                break
            await ledger.settle(tid, D("0.01"))
            made += 1
        assert made == 5
        # A fresh summary that includes those five costs does not count them twice.
        await ledger.update_prices([UsageRow("nanobanana", D(5), D("0.05"), 5)])
        assert await ledger.account_budget_reached()


async def test_a_pause_written_after_the_terms_were_read_still_refuses(db: AnyDatabase) -> None:
    """The policy is read before the transaction; a change landing in between is read again inside it."""
    ledger = make_ledger(db)
    terms = await ledger.terms(guild_id=GUILD, member_id=MEMBER, role_ids=(), count=1)
    await ledger.set_paused(GUILD, True)
    task = await TaskStore(db).create(ImagineRequest(guild_id=GUILD, channel_id=2, member_id=MEMBER, prompt="p"))
    with pytest.raises(QuotaExceeded) as info:
        await db.transaction(lambda tx: ledger.reserve_in(tx, terms, task_id=task.id, now=WEDNESDAY))
    assert info.value.reason is QuotaReason.PAUSED
    assert await ledger.hold(task.id) is None


async def test_a_limit_written_while_terms_are_read_is_seen_by_the_next_request(db: AnyDatabase) -> None:
    ledger = make_ledger(db)
    # The read is queued on the database thread before the write: it returns the old limit...
    old, _ = await asyncio.gather(
        ledger.terms(guild_id=GUILD, member_id=MEMBER, role_ids=(), count=1),
        ledger.set_member_limit(GUILD, MEMBER, D("0.50")),
    )
    assert old.policy.own_limit is None
    # ...which is not what the next request goes by.
    fresh = await ledger.terms(guild_id=GUILD, member_id=MEMBER, role_ids=(), count=1)
    assert fresh.policy.own_limit == D("0.50")
    holds = [await reserve(ledger, db, count=4) for _ in range(3)]  # 0.12 is past the default 0.10
    assert sum(h.reserved for h in holds) == D("0.12")


async def test_holds_queued_behind_a_pause_are_refused(db: AnyDatabase, backend: Backend) -> None:
    """The pause and twenty holds reach the database together; every hold after the pause is refused."""
    if backend.postgres:
        pytest.skip("arrival order is SQLite's single writer; on PostgreSQL a hold committed before the pause stands")
    ledger = make_ledger(db, member_limit=D("100"))
    await reserve(ledger, db)  # the policy is read and remembered: not paused
    store = TaskStore(db)
    tasks = [
        await store.create(ImagineRequest(guild_id=GUILD, channel_id=2, member_id=MEMBER, prompt="p"))
        for _ in range(20)
    ]
    terms = await ledger.terms(guild_id=GUILD, member_id=MEMBER, role_ids=(), count=1)

    async def hold(task_id: int) -> QuotaReason | None:
        try:
            await db.transaction(lambda tx: ledger.reserve_in(tx, terms, task_id=task_id, now=WEDNESDAY))
        except QuotaExceeded as refused:
            return refused.reason
        return None

    results = await asyncio.gather(ledger.set_paused(GUILD, True), *(hold(t.id) for t in tasks))
    assert results[1:] == [QuotaReason.PAUSED] * 20
    assert await count_rows(db, "ledger_holds") == 1


async def test_another_process_policy_and_price_count_at_its_next_hold(backend: Backend) -> None:
    """Two storage instances on one database, as two bot processes: a write in one is read by the other's
    next reservation, in that reservation's own transaction, though the other remembered the old policy."""
    async with await backend.open() as first, await backend.open() as second:
        here, there = make_ledger(first, member_limit=D("100")), make_ledger(second, member_limit=D("100"))
        assert (await reserve(there, second)).reserved == D("0.01")  # policy and price now remembered there
        await here.set_paused(GUILD, True)
        assert (await refused(there, second)).reason is QuotaReason.PAUSED
        await here.set_paused(GUILD, False)
        await here.set_member_limit(GUILD, MEMBER, D("0.02"))
        assert (await refused(there, second, count=2)).reason is QuotaReason.MEMBER_LIMIT  # 0.01 + 0.02 > 0.02
        assert (await reserve(there, second, member=MEMBER + 2)).reserved == D("0.01")  # remembered there
        hold = await reserve(here, first, member=MEMBER + 1)
        assert await here.settle(hold.task_id, Charge(D("0.05"), 1))  # EggAPI's cost: 0.05 an image from now on
        assert (await reserve(there, second, member=MEMBER + 2)).reserved == D("0.05")
