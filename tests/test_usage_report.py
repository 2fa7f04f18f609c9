"""bot.reports against a real SQLite file, populated through TaskStore.insert and the Ledger's holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.eggapi import UsageRow
from bot.ledger import HoldState, Ledger, LedgerDefaults
from bot.lifecycle.model import ImagineRequest, TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.reports import (
    Agreement,
    TaskCounts,
    UsageReports,
    Window,
    daily_spend,
    report_window,
)
from testkit.backends import AnyDatabase, AnyTx, Backend

D = Decimal
NOW = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)  # a Wednesday
GUILD, OTHER = 111, 222
ALICE, BOB, CAROL = 1001, 1002, 1003

# How each outcome leaves the task row and its hold.
_PATHS: dict[str, list[TaskStatus]] = {
    "delivered": [
        TaskStatus.SUBMITTING,
        TaskStatus.RUNNING,
        TaskStatus.COMPLETED,
        TaskStatus.DELIVERING,
        TaskStatus.DELIVERED,
    ],
    "undeliverable": [TaskStatus.SUBMITTING, TaskStatus.RUNNING, TaskStatus.COMPLETED, TaskStatus.UNDELIVERABLE],
    "failed": [TaskStatus.SUBMITTING, TaskStatus.RUNNING, TaskStatus.FAILED],
    "rejected": [TaskStatus.SUBMITTING, TaskStatus.REJECTED],
    "running": [TaskStatus.SUBMITTING, TaskStatus.RUNNING],
    "unknown": [TaskStatus.SUBMITTING, TaskStatus.UNKNOWN],
    "cancelled": [TaskStatus.CANCELLED],
}
_SETTLED = {"delivered", "undeliverable"}
_HELD = {"running", "unknown"}


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def add_task(
    db: AnyDatabase,
    ledger: Ledger,
    *,
    guild: int = GUILD,
    member: int = ALICE,
    when: datetime = NOW,
    outcome: str = "delivered",
    count: int = 1,
    cost: Decimal | None = None,
    prompt: str = "a red fox",
    hold: bool = True,
) -> int:
    """Record a task at ``when`` with its hold, and move both to ``outcome`` in one transaction."""
    store = TaskStore(db, clock=lambda: when)
    req = ImagineRequest(guild_id=guild, channel_id=5, member_id=member, prompt=prompt, count=count)
    terms = await ledger.terms(guild_id=guild, member_id=member, role_ids=(), count=count)

    def record(tx: AnyTx) -> int:
        task_id = store.insert(tx, req).id
        if hold:
            ledger.reserve_in(tx, terms, task_id=task_id, now=when)
        previous = TaskStatus.QUEUED
        for status in _PATHS[outcome]:
            changes: dict[str, Any] = {}
            if status is TaskStatus.RUNNING:
                changes["egg_task_id"] = f"seeded_{task_id}"  # never an id the fake EggAPI hands out
            if status is TaskStatus.COMPLETED:
                changes.update(
                    output_urls=[f"https://files.test/{task_id}/{i}.png" for i in range(count)],
                    cost=cost if cost is not None else D("0.01") * count,
                )
            assert store.transition_in(tx, task_id, [previous], status, **changes)
            previous = status
        if hold and outcome in _SETTLED:
            assert ledger.settle_in(tx, task_id, cost if cost is not None else D("0.01") * count)
        elif hold and outcome not in _HELD:
            assert ledger.release_in(tx, task_id)
        return task_id

    return await db.transaction(record)


def make_ledger(db: AnyDatabase, clock: Clock, **overrides: object) -> Ledger:
    values: dict[str, object] = {"member_limit": D("100"), "period": "day"}
    values.update(overrides)
    return Ledger(db, LedgerDefaults(**values), clock=clock)  # type: ignore[arg-type]


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[AnyDatabase]:
    async with await backend.open() as database:
        yield database


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(db: AnyDatabase, clock: Clock) -> Ledger:
    return make_ledger(db, clock)


@pytest.fixture
def reports(db: AnyDatabase, ledger: Ledger, clock: Clock) -> UsageReports:
    return UsageReports(db, ledger, clock=clock)


# -- ranges ---------------------------------------------------------------------------------------


def test_windows_are_calendar_periods_in_the_timezone() -> None:
    paris = "Europe/Paris"
    today = report_window("today", "week", paris, NOW)
    assert (today.start, today.end) == (datetime(2025, 3, 11, 23, tzinfo=UTC), datetime(2025, 3, 12, 23, tzinfo=UTC))
    week = report_window("week", "day", paris, NOW)
    assert (week.start, week.end) == (datetime(2025, 3, 9, 23, tzinfo=UTC), datetime(2025, 3, 16, 23, tzinfo=UTC))
    month = report_window("month", "day", paris, NOW)
    assert (month.start, month.end) == (datetime(2025, 2, 28, 23, tzinfo=UTC), datetime(2025, 3, 31, 22, tzinfo=UTC))
    last = report_window("last_month", "day", paris, NOW)
    assert (last.start, last.end) == (datetime(2025, 1, 31, 23, tzinfo=UTC), datetime(2025, 2, 28, 23, tzinfo=UTC))
    assert report_window("current", "week", paris, NOW) == Window(
        "current", "Current quota period", paris, week.start, week.end
    )
    everything = report_window("all", "day", paris, NOW)
    assert everything.start is None and everything.end is None and everything.contains(datetime(1999, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError):
        report_window("fortnight", "day", "UTC", NOW)


def test_last_month_rolls_over_the_year() -> None:
    window = report_window("last_month", "day", "UTC", datetime(2025, 1, 10, tzinfo=UTC))
    assert (window.start, window.end) == (datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))


# -- the server report ----------------------------------------------------------------------------


async def populate(db: AnyDatabase, ledger: Ledger) -> None:
    """March 2025 in GUILD (plus February, and another guild that must never show)."""
    await add_task(db, ledger, member=ALICE, when=NOW - timedelta(hours=1), count=2)  # 0.02 settled
    await add_task(db, ledger, member=ALICE, when=NOW - timedelta(days=1), count=4, cost=D("0.0350"))
    await add_task(db, ledger, member=BOB, when=NOW - timedelta(days=2), count=3)  # 0.03 settled
    await add_task(db, ledger, member=BOB, when=NOW - timedelta(minutes=5), count=2, outcome="running")  # held
    await add_task(db, ledger, member=BOB, when=NOW - timedelta(days=3), outcome="failed")
    await add_task(db, ledger, member=CAROL, when=NOW - timedelta(days=4), outcome="rejected")
    await add_task(db, ledger, member=CAROL, when=NOW - timedelta(days=4, hours=1), outcome="undeliverable")
    await add_task(db, ledger, member=CAROL, when=NOW - timedelta(days=5), outcome="cancelled")
    await add_task(db, ledger, member=ALICE, when=datetime(2025, 2, 20, tzinfo=UTC), count=4)  # February
    await add_task(db, ledger, guild=OTHER, member=ALICE, when=NOW, count=4, cost=D("9.99"), prompt="secret")


async def test_guild_report_matches_the_ledger(db: AnyDatabase, ledger: Ledger, reports: UsageReports) -> None:
    await populate(db, ledger)
    report = await reports.guild_report(GUILD, "month")
    window = report.window
    assert window.start == datetime(2025, 3, 1, tzinfo=UTC)
    assert report.totals.settled == D("0.0950")  # 0.02 + 0.035 + 0.03 + 0.01
    assert report.totals.reserved == D("0.02")
    assert report.totals.total == D("0.1150")
    assert report.totals.images == 2 + 4 + 3 + 1
    assert report.totals.counts == TaskCounts(completed=4, failed=2, in_progress=1, cancelled=1)
    assert window.start is not None and window.end is not None
    assert report.members == await ledger.period_totals(GUILD, window.start, window.end)
    assert [m.member_id for m in report.members] == [ALICE, BOB, CAROL]
    assert (report.members[1].settled, report.members[1].reserved, report.members[1].tasks) == (D("0.03"), D("0.02"), 2)
    assert len(report.tasks) == 8
    assert [t.created_at for t in report.tasks] == sorted((t.created_at for t in report.tasks), reverse=True)
    assert all("secret" not in t.prompt for t in report.tasks)
    assert sum((t.cost for t in report.tasks), D(0)) == report.totals.total
    held = [t for t in report.tasks if t.hold_state is HoldState.ACTIVE]
    assert [(t.member_id, t.cost, t.status) for t in held] == [(BOB, D("0.02"), TaskStatus.RUNNING)]


async def test_ranges_pick_the_right_tasks(db: AnyDatabase, ledger: Ledger, reports: UsageReports) -> None:
    await populate(db, ledger)
    totals = {
        key: (await reports.guild_report(GUILD, key)).totals
        for key in ("today", "week", "month", "last_month", "all", "current")
    }
    assert totals["today"].total == D("0.04")  # alice 0.02 + bob's hold 0.02
    assert totals["current"] == totals["today"]  # the quota period is a day
    assert totals["week"].total == D("0.1050")  # from Monday 10th: + alice 0.035 + bob 0.03
    assert totals["week"].counts.failed == 0  # bob's failure was on Sunday
    assert totals["last_month"].total == D("0.04") and totals["last_month"].counts.completed == 1
    assert totals["all"].total == totals["month"].total + totals["last_month"].total


async def test_a_task_counts_on_its_local_day(db: AnyDatabase, ledger: Ledger, reports: UsageReports) -> None:
    await ledger.set_guild_defaults(GUILD, period="month", timezone="Europe/Paris")
    await add_task(db, ledger, when=datetime(2025, 2, 28, 23, 30, tzinfo=UTC))  # 00:30 on 1 March in Paris
    march = await reports.guild_report(GUILD, "month")
    february = await reports.guild_report(GUILD, "last_month")
    assert (march.totals.total, february.totals.total) == (D("0.01"), D("0"))
    assert (await reports.guild_report(GUILD, "current")).totals.total == D("0.01")
    assert march.days[0].day == date(2025, 3, 1) and march.days[0].total == D("0.01")


async def test_server_budget_and_cap(db: AnyDatabase, ledger: Ledger, reports: UsageReports) -> None:
    await populate(db, ledger)
    budget = (await reports.guild_report(GUILD, "all")).budget
    assert (budget.cap, budget.available, budget.period, budget.member_limit) == (None, None, "day", D("100"))
    assert budget.spent == D("0.04")
    await ledger.set_server_cap(GUILD, D("0.05"))
    budget = await reports.server_budget(GUILD)
    assert (budget.cap, budget.spent, budget.available) == (D("0.05"), D("0.04"), D("0.01"))
    assert budget.resets_at == datetime(2025, 3, 13, tzinfo=UTC)
    assert (await ledger.balance(GUILD, ALICE, ())).server_available == budget.available


async def test_daily_spend_fills_every_day(db: AnyDatabase, ledger: Ledger, reports: UsageReports) -> None:
    await populate(db, ledger)
    report = await reports.guild_report(GUILD, "month")
    assert [d.day for d in report.days] == [date(2025, 3, d) for d in range(1, 13)]  # up to today, not beyond
    assert sum((d.total for d in report.days), D(0)) == report.totals.total
    today = report.days[-1]
    assert today.by_member == {ALICE: D("0.02"), BOB: D("0.02")}
    assert report.days[0].total == 0 and report.days[0].by_member == {}
    everything = await reports.guild_report(GUILD, "all")
    assert everything.days[0].day == date(2025, 2, 20) and everything.days[-1].day == date(2025, 3, 12)
    assert daily_spend([], Window("all", "All time", "UTC", None, None), NOW) == []


async def test_member_report(db: AnyDatabase, ledger: Ledger, reports: UsageReports, clock: Clock) -> None:
    await populate(db, ledger)
    old_hold = await add_task(db, ledger, member=BOB, when=datetime(2025, 2, 1, tzinfo=UTC), outcome="unknown")
    mine = await reports.member_report(GUILD, BOB, (), "today")
    assert mine.balance == await ledger.balance(GUILD, BOB, ())
    assert (mine.totals.settled, mine.totals.reserved, mine.totals.counts.in_progress) == (D(0), D("0.02"), 1)
    assert [t.task_id for t in mine.holds][-1] == old_hold and len(mine.holds) == 2  # holds of any range
    month = await reports.member_report(GUILD, BOB, (), "month")
    assert [t.member_id for t in month.tasks] == [BOB, BOB, BOB]
    assert month.totals.total == D("0.05") and month.totals.counts.failed == 1
    # Alice also spent in OTHER; none of it shows in GUILD's report of her.
    alice = await reports.member_report(GUILD, ALICE, (), "all")
    assert alice.totals.total == D("0.0950") and all(t.prompt != "secret" for t in alice.tasks)
    elsewhere = await reports.member_report(OTHER, ALICE, (), "all")
    assert elsewhere.totals.total == D("9.99") and len(elsewhere.tasks) == 1


async def test_tasks_without_a_hold_cost_nothing(db: AnyDatabase, ledger: Ledger, reports: UsageReports) -> None:
    await add_task(db, ledger, hold=False, when=NOW - timedelta(hours=2))
    report = await reports.guild_report(GUILD, "today")
    [line] = report.tasks
    assert (line.hold_state, line.cost, line.images, line.counted) == (None, D(0), 1, False)
    assert report.totals.counts.completed == 1 and report.members == []


async def test_reconcile_against_eggapi(db: AnyDatabase, ledger: Ledger, reports: UsageReports) -> None:
    await populate(db, ledger)
    recon = await reports.reconcile(GUILD, [])
    ledger_settled = D("0.1350")  # this server only, all time: the other server's $9.99 never shows
    assert (recon.ledger_settled, recon.ledger_reserved, recon.ledger_held_tasks) == (ledger_settled, D("0.02"), 1)
    assert recon.eggapi_cost == 0 and recon.agreement is Agreement.LEDGER_HIGHER
    rows = [UsageRow("nanobanana", D(15), ledger_settled, 6)]
    same = await reports.reconcile(GUILD, rows)
    assert same.agreement is Agreement.MATCH and same.difference == 0
    assert (same.eggapi_units, same.eggapi_requests) == (D(15), 6)
    more = await reports.reconcile(GUILD, [*rows, UsageRow("other", D(1), D("0.5"), 1)])
    assert more.agreement is Agreement.EGGAPI_HIGHER and more.difference == D("0.5")


async def test_naive_times_are_refused(reports: UsageReports) -> None:
    with pytest.raises(ValueError):
        await reports.guild_report(GUILD, "today", now=datetime(2025, 3, 12))
