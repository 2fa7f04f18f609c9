"""The ledger's values and its one error: defaults, holds, balances, policies, QuotaExceeded."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from bot.errors import UserFacingError
from bot.i18n import Moment, Text
from bot.money import format_money
from bot.periods import Period, check_period

from ._periods import load_zone

log = logging.getLogger(__name__)

DM_GUILD = 0
"""The guild key used for direct messages (``guild_id=None``): its own "server" with the defaults."""

ZERO = Decimal("0")


def guild_key(guild_id: int | None) -> int:
    """The stored key of a guild: its id, or ``DM_GUILD`` for DMs."""
    return DM_GUILD if guild_id is None else int(guild_id)


def check_amount(amount: Decimal | int | str, what: str = "amount") -> Decimal:
    """``amount`` as a finite, non-negative Decimal; ValueError otherwise (floats are refused)."""
    if isinstance(amount, bool | float):
        raise ValueError(f"{what} must be a Decimal, not {type(amount).__name__}")
    value = Decimal(amount)
    if not value.is_finite() or value < 0:
        raise ValueError(f"{what} must be a finite amount >= 0, not {amount!r}")
    return value


@dataclass(frozen=True, slots=True)
class LedgerDefaults:
    """Bot-wide defaults; every guild uses them until its admins change something."""

    member_limit: Decimal
    period: Period
    timezone: str = "UTC"
    unit_price: Decimal = Decimal("0.01")  # the floor of the per-image price holds use (> 0)
    account_budget: Decimal | None = None

    def __post_init__(self) -> None:
        check_amount(self.member_limit, "member_limit")
        check_period(self.period)
        load_zone(self.timezone)
        if not check_amount(self.unit_price, "unit_price") > 0:
            raise ValueError("unit_price must be above zero: a free image would let every request through")
        if self.account_budget is not None:
            check_amount(self.account_budget, "account_budget")


class HoldState(enum.StrEnum):
    """Life of a hold: active until settled (real cost) or released (cost 0)."""

    ACTIVE = "active"
    SETTLED = "settled"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class Hold:
    """One task's reservation. ``amount`` is what it counts against limits right now."""

    task_id: int
    guild_id: int | None  # None for DMs
    member_id: int
    period_start: datetime  # the period it counts in: the one of its creation
    reserved: Decimal
    settled: Decimal | None
    state: HoldState
    created_at: datetime
    updated_at: datetime
    estimated: bool = False  # settled at the bot's estimate: EggAPI's cost could not be read

    @property
    def amount(self) -> Decimal:
        """Reserved while active, the real cost once settled, 0 once released."""
        if self.state is HoldState.ACTIVE:
            return self.reserved
        if self.state is HoldState.SETTLED:
            return self.settled or ZERO
        return ZERO


@dataclass(frozen=True, slots=True)
class Charge:
    """What a completed task costs its member: EggAPI's own cost, or the bot's estimate of it."""

    amount: Decimal
    images: int | None = None  # images EggAPI produced, when known
    estimated: bool = False  # EggAPI's cost was missing or unreadable

    def __post_init__(self) -> None:
        check_amount(self.amount, "charge")


class QuotaReason(enum.StrEnum):
    """Why a reservation was refused."""

    PAUSED = "paused"
    ACCOUNT_BUDGET = "account_budget"
    MEMBER_LIMIT = "member_limit"
    SERVER_CAP = "server_cap"


def _quota_text(
    reason: QuotaReason,
    available: Decimal,
    needed: Decimal,
    resets_at: datetime | None,
    period: Period,
    limit: Decimal | None = None,
    overdrawn: Decimal = ZERO,
) -> Text:
    """Why a request does not fit, and when the budget resets (a catalogue text: ``errors.quota``)."""
    money = {"left": format_money(available), "need": format_money(needed), "over": format_money(overdrawn)}
    resets: Text | str = Text("errors.quota.resets", at=Moment(resets_at)) if resets_at is not None else ""
    whole = f" ({format_money(limit)})" if limit is not None else ""
    budget = Text(f"errors.quota.budget.{period}")
    if overdrawn > 0 and reason in (QuotaReason.MEMBER_LIMIT, QuotaReason.SERVER_CAP):
        # Settled costs above their holds: say so plainly instead of a puzzling "used all of it".
        whose = "member" if reason is QuotaReason.MEMBER_LIMIT else "server"
        return Text(f"errors.quota.overdrawn_{whose}", budget=budget, limit=whole, resets=resets, **money)
    if reason is QuotaReason.PAUSED:
        return Text("errors.quota.paused")
    if reason is QuotaReason.ACCOUNT_BUDGET:
        return Text("errors.quota.account", **money)
    if reason is QuotaReason.SERVER_CAP:
        if available <= 0:
            return Text("errors.quota.server_used", budget=budget, limit=whole, resets=resets)
        period_budget = Text(f"errors.quota.period_budget.{period}")
        return Text("errors.quota.server_short", period_budget=period_budget, resets=resets, **money)
    if limit is not None and limit <= 0:
        return Text("errors.quota.no_budget")
    if available <= 0:
        return Text("errors.quota.member_used", budget=budget, limit=whole, resets=resets)
    return Text("errors.quota.member_short", budget=budget, resets=resets, **money)


class QuotaExceeded(UserFacingError):
    """A reservation does not fit; nothing was written. The message explains why and when it resets."""

    def __init__(
        self,
        reason: QuotaReason,
        *,
        available: Decimal,
        needed: Decimal,
        resets_at: datetime | None,
        period: Period = "day",
        limit: Decimal | None = None,
    ) -> None:
        self.reason = reason
        self.available = max(available, ZERO)
        self.overdrawn = max(-available, ZERO)  # settled costs went past the limit by this much
        self.needed = needed
        self.resets_at = resets_at
        self.period: Period = period
        self.limit = limit  # the member limit or server cap that was reached, when known
        super().__init__(_quota_text(reason, self.available, needed, resets_at, period, limit, self.overdrawn))


@dataclass(frozen=True, slots=True)
class Balance:
    """A member's standing in the current period (for ``/quota me``)."""

    limit: Decimal | None  # None = exempt from the per-member limit
    settled: Decimal  # real costs of completed work this period
    reserved: Decimal  # active holds this period (running or unknown-outcome submits)
    available: Decimal | None  # max(0, limit - settled - reserved); None when exempt
    period_start: datetime
    resets_at: datetime
    exempt: bool
    paused: bool
    period: Period = "day"
    server_cap: Decimal | None = None
    server_available: Decimal | None = None  # max(0, cap - guild spend); None without a cap
    overdrawn: Decimal = ZERO  # how far settled + reserved went past the limit (EggAPI charged more than held)
    topup: Decimal = ZERO  # one-off top-ups of this period: added to what may be spent, not to the limit
    forgiven: Decimal = ZERO  # settled spend of this period a moderator reset (EggAPI still charged it)

    @property
    def spent(self) -> Decimal:
        """What counts against the budget of the settled spend: ``settled - forgiven``."""
        return self.settled - self.forgiven


@dataclass(frozen=True, slots=True)
class GuildPolicy:
    """A guild's effective settings (stored overrides merged with the bot defaults)."""

    guild_id: int | None
    member_limit: Decimal
    period: Period
    timezone: str
    server_cap: Decimal | None
    paused: bool
    role_limits: Mapping[int, Decimal] = field(default_factory=dict)
    exempt_roles: frozenset[int] = frozenset()
    member_limits: Mapping[int, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MemberSpend:
    """One member's spend over a reporting range."""

    member_id: int
    settled: Decimal
    reserved: Decimal
    tasks: int  # holds that are settled or still active (released ones cost nothing)


class AdjustmentKind(enum.StrEnum):
    """A moderator's one-off change to one member's budget for the current period."""

    TOPUP = "topup"  # adds to what the member may spend this period (not to their limit)
    RESET = "reset"  # forgives what the member had settled so far this period


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One recorded adjustment: who changed whose budget, by how much, when, and for which period."""

    id: int
    guild_id: int | None  # None for DMs
    member_id: int
    kind: AdjustmentKind
    amount: Decimal  # the top-up, or the settled spend forgiven (may be 0: nothing was settled yet)
    moderator_id: int
    period_start: datetime  # the period it counts in (the one of its creation); it ends with it
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AdjustmentResult:
    """What an adjustment changed: the member's balance just before and just after, in one transaction."""

    adjustment: Adjustment
    before: Balance
    after: Balance
