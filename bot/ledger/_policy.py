"""Per-guild policy: stored overrides merged with the defaults, and which limit applies to a member."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.db import Tx
from bot.periods import Period

from ._models import LedgerDefaults

log = logging.getLogger(__name__)

_GUILD_COLUMNS = frozenset({"member_limit", "period", "timezone", "server_cap", "paused"})


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """A guild's own row merged with the defaults (roles and members excluded)."""

    member_limit: Decimal
    period: Period
    timezone: str
    server_cap: Decimal | None
    paused: bool


def load_settings(tx: Tx, key: int, defaults: LedgerDefaults) -> GuildSettings:
    """The guild's settings; the defaults for anything it has not set."""
    rows = tx.fetchall(
        "SELECT member_limit, period, timezone, server_cap, paused FROM ledger_guilds WHERE guild_id = ?", (key,)
    )
    if not rows:
        return GuildSettings(defaults.member_limit, defaults.period, defaults.timezone, None, False)
    row = rows[0]
    return GuildSettings(
        member_limit=defaults.member_limit if row["member_limit"] is None else Decimal(row["member_limit"]),
        period=row["period"] or defaults.period,
        timezone=row["timezone"] or defaults.timezone,
        server_cap=_money(row["server_cap"]),
        paused=bool(row["paused"]),
    )


def load_roles(tx: Tx, key: int) -> tuple[dict[int, Decimal], frozenset[int]]:
    """The guild's role limits and exempt roles."""
    rows = tx.fetchall("SELECT role_id, member_limit, exempt FROM ledger_role_limits WHERE guild_id = ?", (key,))
    limits = {int(r["role_id"]): Decimal(r["member_limit"]) for r in rows if r["member_limit"] is not None}
    exempt = frozenset(int(r["role_id"]) for r in rows if r["exempt"])
    return limits, exempt


def load_member_limit(tx: Tx, key: int, member_id: int) -> Decimal | None:
    """The member's own override, or None."""
    rows = tx.fetchall(
        "SELECT member_limit FROM ledger_member_limits WHERE guild_id = ? AND member_id = ?", (key, member_id)
    )
    return Decimal(rows[0]["member_limit"]) if rows else None


def load_member_limits(tx: Tx, key: int) -> dict[int, Decimal]:
    """Every member override of the guild."""
    rows = tx.fetchall("SELECT member_id, member_limit FROM ledger_member_limits WHERE guild_id = ?", (key,))
    return {int(r["member_id"]): Decimal(r["member_limit"]) for r in rows}


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


def upsert_guild(tx: Tx, key: int, updated_at: str, **columns: Any) -> None:
    """Set some of a guild's columns (None = back to the default), creating its row as needed."""
    unknown = set(columns) - _GUILD_COLUMNS
    if unknown:
        raise ValueError(f"cannot set guild columns {sorted(unknown)}")
    names = list(columns)
    targets = "".join(f", {n}" for n in names)
    sets = ", ".join([*(f"{n} = excluded.{n}" for n in names), "updated_at = excluded.updated_at"])
    tx.execute(
        f"INSERT INTO ledger_guilds (guild_id, updated_at{targets}) "  # noqa: S608 - columns whitelisted
        f"VALUES (?, ?{', ?' * len(names)}) ON CONFLICT (guild_id) DO UPDATE SET {sets}",
        [key, updated_at, *columns.values()],
    )


def upsert_role(
    tx: Tx, key: int, role_id: int, updated_at: str, column: str, value: Any
) -> None:
    """Set a role's ``member_limit`` or ``exempt``; a role with neither is forgotten."""
    if column not in ("member_limit", "exempt"):
        raise ValueError(f"cannot set role column {column!r}")
    tx.execute(
        f"INSERT INTO ledger_role_limits (guild_id, role_id, {column}, updated_at) VALUES (?, ?, ?, ?) "  # noqa: S608
        f"ON CONFLICT (guild_id, role_id) DO UPDATE SET {column} = excluded.{column}, updated_at = excluded.updated_at",
        (key, role_id, value, updated_at),
    )
    tx.execute(
        "DELETE FROM ledger_role_limits WHERE guild_id = ? AND role_id = ? AND member_limit IS NULL AND exempt = 0",
        (key, role_id),
    )


def set_member(
    tx: Tx, key: int, member_id: int, limit: Decimal | None, updated_at: str
) -> None:
    """Set or clear (None) a member's own limit."""
    if limit is None:
        tx.execute("DELETE FROM ledger_member_limits WHERE guild_id = ? AND member_id = ?", (key, member_id))
        return
    tx.execute(
        "INSERT INTO ledger_member_limits (guild_id, member_id, member_limit, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (guild_id, member_id) DO UPDATE SET member_limit = excluded.member_limit, "
        "updated_at = excluded.updated_at",
        (key, member_id, str(limit), updated_at),
    )
