"""Per-guild policy: stored overrides merged with the defaults, and which limit applies to a member."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.periods import Period, check_period
from bot.storage import LedgerRepository

from ._models import LedgerDefaults

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QuotaSettings:
    """A guild's own quota settings merged with the defaults (roles and members excluded)."""

    member_limit: Decimal
    period: Period
    timezone: str
    server_cap: Decimal | None
    paused: bool


def load_settings(ledger: LedgerRepository, key: int, defaults: LedgerDefaults) -> QuotaSettings:
    """The guild's settings; the defaults for anything it has not set."""
    row = ledger.guild_overrides(key)
    if row is None:
        return QuotaSettings(defaults.member_limit, defaults.period, defaults.timezone, None, False)
    return QuotaSettings(
        member_limit=defaults.member_limit if row.member_limit is None else row.member_limit,
        period=defaults.period if not row.period else check_period(row.period),
        timezone=row.timezone or defaults.timezone,
        server_cap=row.server_cap,
        paused=row.paused,
    )


def resolve_limit(
    default_limit: Decimal,
    role_limits: dict[int, Decimal],
    exempt_roles: Collection[int],
    member_limit: Decimal | None,
    role_ids: Sequence[int],
) -> Decimal | None:
    """The per-member limit that applies; None = exempt.

    Order: the member's own override; else exempt if any role is exempt; else the most generous
    of the member's role limits (higher or lower than the default); else the guild default.
    """
    if member_limit is not None:
        return member_limit
    if any(role in exempt_roles for role in role_ids):
        return None
    by_role = [role_limits[role] for role in role_ids if role in role_limits]
    return max(by_role) if by_role else default_limit
