"""UsageReports: ``ReportQueries`` (``tasks`` joined with ``ledger_holds``, always by guild) and the ledger."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.clock import utcnow
from bot.eggapi import UsageRow
from bot.ledger import HoldState, Ledger, MemberSpend
from bot.storage import Storage

from ._models import (
    ZERO,
    DaySpend,
    GuildReport,
    MemberReport,
    Reconciliation,
    ServerBudget,
    TaskLine,
    Totals,
)
from ._windows import Window, report_window

log = logging.getLogger(__name__)


def member_spends(lines: Iterable[TaskLine]) -> list[MemberSpend]:
    """Per-member settled and held spend of counted tasks, biggest spender first (as the ledger orders it)."""
    acc: dict[int, tuple[Decimal, Decimal, int]] = {}
    for line in lines:
        if line.counted:
            settled, reserved, tasks = acc.get(line.member_id, (ZERO, ZERO, 0))
            acc[line.member_id] = (settled + line.settled, reserved + line.reserved, tasks + 1)
    spends = [MemberSpend(member, s, r, n) for member, (s, r, n) in acc.items()]
    spends.sort(key=lambda s: (-(s.settled + s.reserved), s.member_id))
    return spends


def daily_spend(lines: Sequence[TaskLine], window: Window, now: datetime) -> list[DaySpend]:
    """Counted spend per local day, oldest first, from the range's first day (or first task) to today."""
    counted = [line for line in lines if line.counted]
    per_day: dict[Any, dict[int, Decimal]] = {}
    for line in counted:
        members = per_day.setdefault(window.local_date(line.created_at), {})
        members[line.member_id] = members.get(line.member_id, ZERO) + line.cost
    if window.start is not None:
        first = window.local_date(window.start)
    elif per_day:
        first = min(per_day)
    else:
        return []
    last_instant = now if window.end is None else min(now, window.end - timedelta(microseconds=1))
    last = max(window.local_date(last_instant), max(per_day, default=first))
    days: list[DaySpend] = []
    day = first
    while day <= last:
        members = per_day.get(day, {})
        days.append(DaySpend(day, sum(members.values(), ZERO), dict(members)))
        day += timedelta(days=1)
    return days


class UsageReports:
    """Builds usage reports of one guild at a time from the bot's database and ledger."""

    def __init__(self, storage: Storage, ledger: Ledger, clock: Callable[[], datetime] = utcnow) -> None:
        self._storage = storage
        self._ledger = ledger
        self._clock = clock

    def _now(self, now: datetime | None) -> datetime:
        value = self._clock() if now is None else now
        if value.tzinfo is None:
            raise ValueError("pass an aware datetime")
        return value

    async def window(self, guild_id: int, key: str, now: datetime | None = None) -> Window:
        """The range ``key`` in the guild's quota timezone (``current`` = its quota period)."""
        policy = await self._ledger.policy(guild_id)
        return report_window(key, policy.period, policy.timezone, self._now(now))

    async def task_lines(self, guild_id: int, window: Window, member_id: int | None = None) -> list[TaskLine]:
        """The guild's tasks in the range (by the time their hold was taken), newest first."""
        return await self._storage.read(
            lambda tx: tx.reports.task_lines(guild_id, member_id=member_id, start=window.start, end=window.end)
        )

    async def server_budget(self, guild_id: int, now: datetime | None = None) -> ServerBudget:
        """The guild's cap and what is left of it in the current quota period, as the ledger sees it."""
        now = self._now(now)
        policy = await self._ledger.policy(guild_id)
        standing = await self._ledger.balance(guild_id, 0, (), now)
        spends = await self._ledger.period_totals(guild_id, standing.period_start, standing.resets_at)
        return ServerBudget(
            period=standing.period,
            period_start=standing.period_start,
            resets_at=standing.resets_at,
            member_limit=policy.member_limit,
            cap=standing.server_cap,
            spent=sum((s.settled + s.reserved for s in spends), ZERO),
            available=standing.server_available,
            paused=standing.paused,
        )

    async def guild_report(self, guild_id: int, key: str, now: datetime | None = None) -> GuildReport:
        """Totals, top members, budget, tasks and daily spend of one guild over the range ``key``."""
        now = self._now(now)
        window = await self.window(guild_id, key, now)
        lines = await self.task_lines(guild_id, window)
        return GuildReport(
            guild_id=guild_id,
            window=window,
            generated_at=now,
            totals=Totals.of(lines),
            members=member_spends(lines),
            budget=await self.server_budget(guild_id, now),
            tasks=lines,
            days=daily_spend(lines, window, now),
            adjustments=await self._ledger.adjustments(guild_id, start=window.start, end=window.end),
        )

    async def member_report(
        self, guild_id: int, member_id: int, role_ids: Sequence[int], key: str, now: datetime | None = None
    ) -> MemberReport:
        """One member's spend over the range ``key``, their balance now and their open holds (this guild only)."""
        now = self._now(now)
        window = await self.window(guild_id, key, now)
        everything = Window("all", "All time", window.timezone, None, None)
        every = await self.task_lines(guild_id, everything, member_id)
        lines = [line for line in every if window.contains(line.created_at)]
        return MemberReport(
            guild_id=guild_id,
            member_id=member_id,
            window=window,
            generated_at=now,
            totals=Totals.of(lines),
            balance=await self._ledger.balance(guild_id, member_id, role_ids, now),
            holds=[line for line in every if line.hold_state is HoldState.ACTIVE],
            tasks=lines,
            days=daily_spend(lines, window, now),
            adjustments=await self._ledger.adjustments(
                guild_id, member_id=member_id, start=window.start, end=window.end
            ),
        )

    async def reconcile(self, guild_id: int, rows: Sequence[UsageRow]) -> Reconciliation:
        """EggAPI's summary rows beside this server's all-time ledger totals."""
        holds = await self._storage.read(lambda tx: tx.reports.hold_totals(guild_id))
        return Reconciliation(
            rows=tuple(rows),
            ledger_settled=holds.settled,
            ledger_reserved=holds.reserved,
            ledger_held_tasks=holds.active,
        )
