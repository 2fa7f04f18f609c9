"""UsageReports: SQL over ``tasks`` joined with ``ledger_holds``, always filtered by guild; exact Decimal sums."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.db import Database
from bot.eggapi import UsageRow
from bot.ledger import HoldState, Ledger, MemberSpend, utcnow
from bot.lifecycle.model import TaskStatus

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

_WHEN = "COALESCE(h.created_at, t.created_at)"
_SELECT = f"""
    SELECT t.id, t.member_id, t.prompt, t.count, t.status, t.output_urls,
           h.state, h.reserved, h.settled, {_WHEN} AS happened_at
    FROM tasks AS t LEFT JOIN ledger_holds AS h ON h.task_id = t.id
    WHERE t.guild_id = ?"""


def _stamp(value: datetime) -> str:
    """Storage form of a bound (ISO 8601 UTC with microseconds, as both tables store times)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _cost(row: sqlite3.Row) -> Decimal:
    if row["state"] == HoldState.ACTIVE:
        return Decimal(row["reserved"])
    if row["state"] == HoldState.SETTLED:
        return Decimal(row["settled"] or "0")
    return ZERO


def row_to_line(row: sqlite3.Row) -> TaskLine:
    """A TaskLine from a row of the joined query."""
    return TaskLine(
        task_id=int(row["id"]),
        member_id=int(row["member_id"]),
        created_at=datetime.fromisoformat(row["happened_at"]),
        prompt=row["prompt"],
        requested=int(row["count"]),
        images=len(json.loads(row["output_urls"] or "[]")),
        status=TaskStatus(row["status"]),
        hold_state=None if row["state"] is None else HoldState(row["state"]),
        cost=_cost(row),
    )


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

    def __init__(self, db: Database, ledger: Ledger, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
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
        sql = _SELECT
        params: list[Any] = [int(guild_id)]
        if member_id is not None:
            sql += " AND t.member_id = ?"
            params.append(int(member_id))
        if window.start is not None:
            sql += f" AND {_WHEN} >= ?"
            params.append(_stamp(window.start))
        if window.end is not None:
            sql += f" AND {_WHEN} < ?"
            params.append(_stamp(window.end))
        rows = await self._db.fetchall(sql + f" ORDER BY {_WHEN} DESC, t.id DESC", params)
        return [row_to_line(row) for row in rows]

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
        )

    async def reconcile(self, guild_id: int, rows: Sequence[UsageRow]) -> Reconciliation:
        """EggAPI's summary rows beside this server's all-time ledger totals."""
        holds = await self._db.fetchall(
            "SELECT state, reserved, settled FROM ledger_holds WHERE guild_id = ? AND state IN ('active', 'settled')",
            (guild_id,),
        )
        settled = [h for h in holds if h["state"] == HoldState.SETTLED]
        active = [h for h in holds if h["state"] == HoldState.ACTIVE]
        return Reconciliation(
            rows=tuple(rows),
            ledger_settled=sum((_cost(h) for h in settled), ZERO),
            ledger_reserved=sum((_cost(h) for h in active), ZERO),
            ledger_held_tasks=len(active),
        )
