"""SQL for holds, prices, the account total and per-guild quota policy (``LedgerRepository``).

Money is TEXT holding an exact decimal string; sums are exact, Decimal in Python, never SQL floats.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.clock import from_iso, to_iso
from bot.ledger import DM_GUILD, Adjustment, AdjustmentKind, Hold, HoldState, MemberSpend
from bot.storage.ports import GuildOverrides

log = logging.getLogger(__name__)

ZERO = Decimal(0)

_COUNTED = "state IN ('active', 'settled')"
_GUILD_COLUMNS = frozenset({"member_limit", "period", "timezone", "server_cap", "paused"})
_ROLE_COLUMNS = frozenset({"member_limit", "exempt"})


def _total(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def hold_amount(row: sqlite3.Row) -> Decimal:
    """What a hold row counts: reserved while active, the real cost once settled, 0 once released."""
    if row["state"] == HoldState.ACTIVE:
        return Decimal(row["reserved"])
    if row["state"] == HoldState.SETTLED:
        return Decimal(row["settled"] or "0")
    return ZERO


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def row_to_hold(row: sqlite3.Row) -> Hold:
    """Build a Hold from a ledger_holds row."""
    return Hold(
        task_id=int(row["task_id"]),
        guild_id=None if row["guild_id"] == DM_GUILD else int(row["guild_id"]),
        member_id=int(row["member_id"]),
        period_start=from_iso(row["period_start"]),
        reserved=Decimal(row["reserved"]),
        settled=_money(row["settled"]),
        state=HoldState(row["state"]),
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
        estimated=bool(row["cost_estimated"]),
    )


def row_to_adjustment(row: sqlite3.Row) -> Adjustment:
    """Build an Adjustment from a ledger_adjustments row."""
    return Adjustment(
        id=int(row["id"]),
        guild_id=None if row["guild_id"] == DM_GUILD else int(row["guild_id"]),
        member_id=int(row["member_id"]),
        kind=AdjustmentKind(row["kind"]),
        amount=Decimal(row["amount"]),
        moderator_id=int(row["moderator_id"]),
        period_start=from_iso(row["period_start"]),
        created_at=from_iso(row["created_at"]),
    )


class SqliteLedger:
    """``LedgerRepository`` over one SQLite connection, inside the caller's transaction."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    # -- holds -----------------------------------------------------------------------------------

    def hold(self, task_id: int) -> Hold | None:
        rows = self._rows("SELECT * FROM ledger_holds WHERE task_id = ?", (task_id,))
        return row_to_hold(rows[0]) if rows else None

    def insert_hold(
        self, *, task_id: int, key: int, member_id: int, period_start: datetime, reserved: Decimal, now: datetime
    ) -> None:
        stamp = to_iso(now)
        self._conn.execute(
            """INSERT INTO ledger_holds
                   (task_id, guild_id, member_id, period_start, reserved, state, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, 'active', ?, ?)""",
            (task_id, key, member_id, to_iso(period_start), str(reserved), stamp, stamp),
        )

    def close_hold(
        self, task_id: int, state: HoldState, cost: Decimal, now: datetime, *, estimated: bool = False
    ) -> bool:
        stamp = to_iso(now)
        cur = self._conn.execute(
            """UPDATE ledger_holds SET state = ?, settled = ?, cost_estimated = ?, updated_at = ?, closed_at = ?
               WHERE task_id = ? AND state = 'active'""",
            (state.value, str(cost), int(estimated), stamp, stamp, task_id),
        )
        return cur.rowcount == 1

    def member_spend(self, key: int, member_id: int, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        rows = self._rows(
            f"""SELECT state, reserved, settled FROM ledger_holds
                WHERE guild_id = ? AND member_id = ? AND period_start >= ? AND period_start < ?
                  AND {_COUNTED}""",
            (key, member_id, to_iso(start), to_iso(end)),
        )
        settled = _total(hold_amount(r) for r in rows if r["state"] == HoldState.SETTLED)
        active = _total(hold_amount(r) for r in rows if r["state"] == HoldState.ACTIVE)
        return settled, active

    def guild_spend(self, key: int, start: datetime, end: datetime) -> Decimal:
        rows = self._rows(
            f"""SELECT state, reserved, settled FROM ledger_holds
                WHERE guild_id = ? AND period_start >= ? AND period_start < ? AND {_COUNTED}""",
            (key, to_iso(start), to_iso(end)),
        )
        return _total(hold_amount(r) for r in rows)

    def active_total(self) -> Decimal:
        rows = self._rows("SELECT reserved FROM ledger_holds WHERE state = 'active'")
        return _total(Decimal(r["reserved"]) for r in rows)

    def settled_total(self) -> Decimal:
        rows = self._rows("SELECT settled FROM ledger_holds WHERE state = 'settled'")
        return _total(Decimal(r["settled"] or "0") for r in rows)

    def settled_since_summary(self) -> Decimal:
        rows = self._rows(
            """SELECT settled FROM ledger_holds WHERE state = 'settled'
               AND closed_at > COALESCE((SELECT updated_at FROM ledger_account WHERE id = 1), '')"""
        )
        return _total(Decimal(r["settled"] or "0") for r in rows)

    def spend_by_member(self, key: int, start: datetime, end: datetime) -> list[MemberSpend]:
        rows = self._rows(
            f"""SELECT member_id, state, reserved, settled FROM ledger_holds
                WHERE guild_id = ? AND created_at >= ? AND created_at < ? AND {_COUNTED}""",
            (key, to_iso(start), to_iso(end)),
        )
        acc: dict[int, list[Any]] = {}
        for r in rows:
            entry = acc.setdefault(int(r["member_id"]), [ZERO, ZERO, 0])
            entry[0 if r["state"] == HoldState.SETTLED else 1] += hold_amount(r)
            entry[2] += 1
        return [MemberSpend(member, settled, reserved, tasks) for member, (settled, reserved, tasks) in acc.items()]

    # -- moderators' adjustments ----------------------------------------------------------------

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
        cur = self._conn.execute(
            """INSERT INTO ledger_adjustments
                   (guild_id, member_id, kind, amount, moderator_id, period_start, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (key, member_id, kind.value, str(amount), moderator_id, to_iso(period_start), to_iso(now)),
        )
        rows = self._rows("SELECT * FROM ledger_adjustments WHERE id = ?", (cur.lastrowid,))
        return row_to_adjustment(rows[0])

    def member_adjustments(self, key: int, member_id: int, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        rows = self._rows(
            """SELECT kind, amount FROM ledger_adjustments
               WHERE guild_id = ? AND member_id = ? AND period_start >= ? AND period_start < ?""",
            (key, member_id, to_iso(start), to_iso(end)),
        )
        topup = _total(Decimal(r["amount"]) for r in rows if r["kind"] == AdjustmentKind.TOPUP)
        forgiven = _total(Decimal(r["amount"]) for r in rows if r["kind"] == AdjustmentKind.RESET)
        return topup, forgiven

    def adjustments(
        self, key: int, *, member_id: int | None, start: datetime | None, end: datetime | None
    ) -> list[Adjustment]:
        sql = "SELECT * FROM ledger_adjustments WHERE guild_id = ?"
        params: list[Any] = [key]
        if member_id is not None:
            sql += " AND member_id = ?"
            params.append(member_id)
        if start is not None:
            sql += " AND created_at >= ?"
            params.append(to_iso(start))
        if end is not None:
            sql += " AND created_at < ?"
            params.append(to_iso(end))
        return [row_to_adjustment(r) for r in self._rows(sql + " ORDER BY created_at DESC, id DESC", params)]

    # -- prices and the account total ------------------------------------------------------------

    def summary_price(self, model: str) -> Decimal | None:
        rows = self._rows("SELECT unit_price FROM ledger_prices WHERE model = ?", (model,))
        return Decimal(rows[0]["unit_price"]) if rows else None

    def recent_task_prices(self, model: str) -> list[Decimal]:
        rows = self._rows("SELECT unit_price FROM ledger_task_prices WHERE model = ?", (model,))
        return [Decimal(r["unit_price"]) for r in rows]

    def learn_task_price(self, task_id: int, model: str, price: Decimal, now: datetime, keep: int) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO ledger_task_prices (task_id, model, unit_price, learned_at) VALUES (?, ?, ?, ?)",
            (task_id, model, str(price), to_iso(now)),
        )
        self._conn.execute(
            """DELETE FROM ledger_task_prices WHERE model = ? AND task_id NOT IN (
                   SELECT task_id FROM ledger_task_prices WHERE model = ?
                   ORDER BY learned_at DESC, task_id DESC LIMIT ?)""",
            (model, model, keep),
        )

    def usage_cost(self) -> Decimal | None:
        rows = self._rows("SELECT usage_cost FROM ledger_account WHERE id = 1")
        return Decimal(rows[0]["usage_cost"]) if rows else None

    def store_usage(self, prices: Mapping[str, Decimal], usage_cost: Decimal, now: datetime) -> None:
        stamp = to_iso(now)
        for model, price in prices.items():
            self._conn.execute(
                "INSERT INTO ledger_prices (model, unit_price, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (model) DO UPDATE SET unit_price = excluded.unit_price, updated_at = excluded.updated_at",
                (model, str(price), stamp),
            )
        self._conn.execute(
            "INSERT INTO ledger_account (id, usage_cost, updated_at) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET usage_cost = excluded.usage_cost, updated_at = excluded.updated_at",
            (str(usage_cost), stamp),
        )

    # -- per-guild policy ------------------------------------------------------------------------

    def guild_overrides(self, key: int) -> GuildOverrides | None:
        rows = self._rows(
            "SELECT member_limit, period, timezone, server_cap, paused FROM ledger_guilds WHERE guild_id = ?", (key,)
        )
        if not rows:
            return None
        row = rows[0]
        return GuildOverrides(
            member_limit=_money(row["member_limit"]),
            period=row["period"],
            timezone=row["timezone"],
            server_cap=_money(row["server_cap"]),
            paused=bool(row["paused"]),
        )

    def role_overrides(self, key: int) -> tuple[dict[int, Decimal], frozenset[int]]:
        rows = self._rows("SELECT role_id, member_limit, exempt FROM ledger_role_limits WHERE guild_id = ?", (key,))
        limits = {int(r["role_id"]): Decimal(r["member_limit"]) for r in rows if r["member_limit"] is not None}
        exempt = frozenset(int(r["role_id"]) for r in rows if r["exempt"])
        return limits, exempt

    def member_limit(self, key: int, member_id: int) -> Decimal | None:
        rows = self._rows(
            "SELECT member_limit FROM ledger_member_limits WHERE guild_id = ? AND member_id = ?", (key, member_id)
        )
        return Decimal(rows[0]["member_limit"]) if rows else None

    def member_limits(self, key: int) -> dict[int, Decimal]:
        rows = self._rows("SELECT member_id, member_limit FROM ledger_member_limits WHERE guild_id = ?", (key,))
        return {int(r["member_id"]): Decimal(r["member_limit"]) for r in rows}

    def set_guild(self, key: int, now: datetime, **columns: str | int | None) -> None:
        unknown = set(columns) - _GUILD_COLUMNS
        if unknown:
            raise ValueError(f"cannot set guild columns {sorted(unknown)}")
        names = list(columns)
        targets = "".join(f", {n}" for n in names)
        sets = ", ".join([*(f"{n} = excluded.{n}" for n in names), "updated_at = excluded.updated_at"])
        self._conn.execute(
            f"INSERT INTO ledger_guilds (guild_id, updated_at{targets}) "
            f"VALUES (?, ?{', ?' * len(names)}) ON CONFLICT (guild_id) DO UPDATE SET {sets}",
            [key, to_iso(now), *columns.values()],
        )

    def set_role(self, key: int, role_id: int, now: datetime, column: str, value: str | int | None) -> None:
        if column not in _ROLE_COLUMNS:
            raise ValueError(f"cannot set role column {column!r}")
        self._conn.execute(
            f"INSERT INTO ledger_role_limits (guild_id, role_id, {column}, updated_at) VALUES (?, ?, ?, ?) "
            f"ON CONFLICT (guild_id, role_id) DO UPDATE SET {column} = excluded.{column}, "
            "updated_at = excluded.updated_at",
            (key, role_id, value, to_iso(now)),
        )
        self._conn.execute(
            "DELETE FROM ledger_role_limits WHERE guild_id = ? AND role_id = ? AND member_limit IS NULL AND exempt = 0",
            (key, role_id),
        )

    def set_member_limit(self, key: int, member_id: int, limit: Decimal | None, now: datetime) -> None:
        if limit is None:
            self._conn.execute(
                "DELETE FROM ledger_member_limits WHERE guild_id = ? AND member_id = ?", (key, member_id)
            )
            return
        self._conn.execute(
            "INSERT INTO ledger_member_limits (guild_id, member_id, member_limit, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (guild_id, member_id) DO UPDATE SET member_limit = excluded.member_limit, "
            "updated_at = excluded.updated_at",
            (key, member_id, str(limit), to_iso(now)),
        )
