"""The ledger's repository Protocol (``Transaction.ledger``) and a guild's stored quota settings.

Split from ``ports`` for length; ``ports`` re-exports both, so ``bot.storage.ports`` and
``bot.storage`` stay the places to import them from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.ledger import Adjustment, AdjustmentKind, Hold, HoldState, MemberSpend


@dataclass(frozen=True, slots=True)
class GuildOverrides:
    """A guild's stored quota settings; None = not set (the ledger's defaults apply)."""

    member_limit: Decimal | None
    period: str | None
    timezone: str | None
    server_cap: Decimal | None
    paused: bool


class LedgerRepository(Protocol):
    """Quota holds, prices, the account total and per-guild quota policy (``DM_GUILD`` keys DMs).

    ``Ledger.reserve_in`` reads a member's and a guild's spend, decides, then inserts a hold: a
    backend whose writers run concurrently must make those reads lock what they count until commit
    (SQLite's ``BEGIN IMMEDIATE`` already serialises every writer), or holds can overdraw.
    """

    def hold(self, task_id: int) -> Hold | None: ...

    def insert_hold(
        self, *, task_id: int, key: int, member_id: int, period_start: datetime, reserved: Decimal, now: datetime
    ) -> None:
        """Insert an active hold; a second hold of a task raises the backend's integrity error."""
        ...

    def close_hold(
        self, task_id: int, state: HoldState, cost: Decimal, now: datetime, *, estimated: bool = False
    ) -> bool:
        """Move an active hold to ``state`` with its final cost; False if it is not active (or absent)."""
        ...

    def member_spend(self, key: int, member_id: int, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        """(settled, active holds) of a member's holds whose period starts in [start, end)."""
        ...

    def guild_spend(self, key: int, start: datetime, end: datetime) -> Decimal:
        """Settled plus active holds of a guild's holds whose period starts in [start, end)."""
        ...

    def active_total(self) -> Decimal:
        """Every active hold, any guild, any period."""
        ...

    def settled_total(self) -> Decimal:
        """Every settled cost, any guild, any period (what EggAPI charged for the bot's jobs); for metrics."""
        ...

    def settled_since_summary(self) -> Decimal:
        """Costs settled after the last stored usage summary (all of them before the first)."""
        ...

    def spend_by_member(self, key: int, start: datetime, end: datetime) -> list[MemberSpend]:
        """Per-member spend of holds created in [start, end), in no particular order."""
        ...

    def insert_adjustment(
        self,
        *,
        key: int,
        member_id: int,
        kind: AdjustmentKind,
        amount: Decimal,
        moderator_id: int,
        period_start: datetime,
        now: datetime,
    ) -> Adjustment:
        """Record a moderator's top-up or reset of one member's budget; return it as stored."""
        ...

    def member_adjustments(self, key: int, member_id: int, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        """(topped up, forgiven) of a member's adjustments whose period starts in [start, end)."""
        ...

    def adjustments(
        self, key: int, *, member_id: int | None, start: datetime | None, end: datetime | None
    ) -> list[Adjustment]:
        """A guild's adjustments (one member's, or everyone's) made in [start, end), newest first."""
        ...

    def summary_price(self, model: str) -> Decimal | None: ...

    def recent_task_prices(self, model: str) -> list[Decimal]: ...

    def learn_task_price(self, task_id: int, model: str, price: Decimal, now: datetime, keep: int) -> None:
        """Remember one task's price per image; only the newest ``keep`` of a model are kept."""
        ...

    def usage_cost(self) -> Decimal | None:
        """The account total of the last usage summary, or None before the first."""
        ...

    def store_usage(self, prices: Mapping[str, Decimal], usage_cost: Decimal, now: datetime) -> None: ...

    def guild_overrides(self, key: int) -> GuildOverrides | None: ...

    def role_overrides(self, key: int) -> tuple[dict[int, Decimal], frozenset[int]]:
        """The guild's per-role member limits and its exempt roles."""
        ...

    def member_limit(self, key: int, member_id: int) -> Decimal | None: ...

    def member_limits(self, key: int) -> dict[int, Decimal]: ...

    def set_guild(self, key: int, now: datetime, **columns: str | int | None) -> None:
        """Set some of ``member_limit``, ``period``, ``timezone``, ``server_cap``, ``paused`` (None = unset)."""
        ...

    def set_role(self, key: int, role_id: int, now: datetime, column: str, value: str | int | None) -> None:
        """Set a role's ``member_limit`` or ``exempt``; a role with neither is forgotten."""
        ...

    def set_member_limit(self, key: int, member_id: int, limit: Decimal | None, now: datetime) -> None: ...
