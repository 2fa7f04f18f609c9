"""The values a usage report is made of: task lines, counts, budgets, daily spend, reconciliation."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from bot.eggapi import UsageRow
from bot.ledger import Adjustment, AdjustmentKind, Balance, HoldState, MemberSpend, Period
from bot.lifecycle.model import TaskStatus

from ._windows import Window

ZERO = Decimal("0")

COMPLETED = frozenset({TaskStatus.COMPLETED, TaskStatus.DELIVERING, TaskStatus.DELIVERED, TaskStatus.UNDELIVERABLE})
"""EggAPI finished the task (images made, posted or not)."""
FAILED = frozenset({TaskStatus.FAILED, TaskStatus.REJECTED})
"""Produced nothing: refused at submit or failed upstream."""


@dataclass(frozen=True, slots=True)
class TaskLine:
    """One task as a report shows it. ``cost`` is what the ledger counts for it."""

    task_id: int
    member_id: int
    created_at: datetime  # when its hold was taken (the ledger's clock); the task's own time without a hold
    prompt: str
    requested: int  # images asked for
    images: int  # images EggAPI produced
    status: TaskStatus
    hold_state: HoldState | None  # None: a task recorded before the ledger existed
    cost: Decimal  # settled: real cost; active: the hold; released or no hold: 0

    @property
    def counted(self) -> bool:
        """Whether the ledger counts it (settled, or still held)."""
        return self.hold_state in (HoldState.SETTLED, HoldState.ACTIVE)

    @property
    def settled(self) -> Decimal:
        """Its real cost once settled, else 0."""
        return self.cost if self.hold_state is HoldState.SETTLED else ZERO

    @property
    def reserved(self) -> Decimal:
        """Its hold while active, else 0."""
        return self.cost if self.hold_state is HoldState.ACTIVE else ZERO


@dataclass(frozen=True, slots=True)
class TaskCounts:
    """How the range's tasks ended (or not yet)."""

    completed: int = 0
    failed: int = 0
    in_progress: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        """Every task in the range."""
        return self.completed + self.failed + self.in_progress + self.cancelled

    @classmethod
    def of(cls, lines: Sequence[TaskLine]) -> TaskCounts:
        """Count ``lines`` by outcome."""
        completed = sum(1 for line in lines if line.status in COMPLETED)
        failed = sum(1 for line in lines if line.status in FAILED)
        cancelled = sum(1 for line in lines if line.status is TaskStatus.CANCELLED)
        return cls(completed, failed, len(lines) - completed - failed - cancelled, cancelled)


@dataclass(frozen=True, slots=True)
class Totals:
    """Money, images and outcomes of a set of tasks."""

    settled: Decimal
    reserved: Decimal
    images: int
    counts: TaskCounts

    @property
    def total(self) -> Decimal:
        """Settled plus still held."""
        return self.settled + self.reserved

    @classmethod
    def of(cls, lines: Sequence[TaskLine]) -> Totals:
        """Add up ``lines``."""
        return cls(
            settled=sum((line.settled for line in lines), ZERO),
            reserved=sum((line.reserved for line in lines), ZERO),
            images=sum(line.images for line in lines),
            counts=TaskCounts.of(lines),
        )


@dataclass(frozen=True, slots=True)
class ServerBudget:
    """The guild's standing in its current quota period (what the server cap is checked against)."""

    period: Period
    period_start: datetime
    resets_at: datetime
    member_limit: Decimal  # the guild's default per-member limit
    cap: Decimal | None  # None: no server cap
    spent: Decimal  # settled + held this quota period
    available: Decimal | None  # what is left under the cap (never below 0); None without a cap
    paused: bool


@dataclass(frozen=True, slots=True)
class DaySpend:
    """What the ledger counts for one local calendar day, in total and per member."""

    day: date
    total: Decimal
    by_member: dict[int, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GuildReport:
    """A server's usage over a range."""

    guild_id: int
    window: Window
    generated_at: datetime
    totals: Totals
    members: list[MemberSpend]  # biggest spender first, like ``Ledger.period_totals``
    budget: ServerBudget
    tasks: list[TaskLine]  # newest first
    days: list[DaySpend]  # oldest first, every day of the range that has started
    adjustments: list[Adjustment] = field(default_factory=list)  # moderators' top-ups and resets, newest first


@dataclass(frozen=True, slots=True)
class MemberReport:
    """One member's usage over a range, with their current-period balance and open holds."""

    guild_id: int
    member_id: int
    window: Window
    generated_at: datetime
    totals: Totals
    balance: Balance
    holds: list[TaskLine]  # active holds of any range, newest first
    tasks: list[TaskLine]  # the range's tasks, newest first
    days: list[DaySpend]
    adjustments: list[Adjustment] = field(default_factory=list)  # their top-ups and resets, newest first


def adjusted(adjustments: Sequence[Adjustment], kind: AdjustmentKind) -> Decimal:
    """The sum of one kind of adjustment: topped up, or forgiven (EggAPI's charges stay in the totals)."""
    return sum((a.amount for a in adjustments if a.kind is kind), ZERO)


class Agreement(enum.StrEnum):
    """How EggAPI's total compares with what the bot's ledger settled."""

    MATCH = "match"
    EGGAPI_HIGHER = "eggapi_higher"
    LEDGER_HIGHER = "ledger_higher"


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """EggAPI's account-wide usage summary beside this server's all-time ledger.

    Only this server's figures: nothing of another server reaches a report, not even a sum.
    """

    rows: tuple[UsageRow, ...]
    ledger_settled: Decimal  # this server, all time
    ledger_reserved: Decimal  # this server's active holds
    ledger_held_tasks: int

    @property
    def eggapi_cost(self) -> Decimal:
        """Sum of ``total_cost`` over the rows."""
        return sum((row.total_cost for row in self.rows), ZERO)

    @property
    def eggapi_units(self) -> Decimal:
        """Sum of ``total_units`` over the rows."""
        return sum((row.total_units for row in self.rows), ZERO)

    @property
    def eggapi_requests(self) -> int:
        """Sum of ``request_count`` over the rows."""
        return sum(row.request_count for row in self.rows)

    @property
    def difference(self) -> Decimal:
        """EggAPI's total minus the ledger's settled total (positive: EggAPI counts more)."""
        return self.eggapi_cost - self.ledger_settled

    @property
    def agreement(self) -> Agreement:
        """Whether the two agree, and which side is higher."""
        if self.difference == 0:
            return Agreement.MATCH
        return Agreement.EGGAPI_HIGHER if self.difference > 0 else Agreement.LEDGER_HIGHER
