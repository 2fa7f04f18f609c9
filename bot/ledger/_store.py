"""SQL for holds, prices and the account total. Sums are exact: Decimal in Python, never SQL floats."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.db import Tx

from ._models import DM_GUILD, ZERO, Hold, HoldState, MemberSpend
from ._periods import from_iso, iso

log = logging.getLogger(__name__)

_COUNTED = "state IN ('active', 'settled')"


def _total(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def _amount(row: sqlite3.Row) -> Decimal:
    """What a hold row counts: reserved while active, the real cost once settled, 0 once released."""
    if row["state"] == HoldState.ACTIVE:
        return Decimal(row["reserved"])
    if row["state"] == HoldState.SETTLED:
        return Decimal(row["settled"] or "0")
    return ZERO


def row_to_hold(row: sqlite3.Row) -> Hold:
    """Build a Hold from a ledger_holds row."""
    return Hold(
        task_id=int(row["task_id"]),
        guild_id=None if row["guild_id"] == DM_GUILD else int(row["guild_id"]),
        member_id=int(row["member_id"]),
        period_start=from_iso(row["period_start"]),
        reserved=Decimal(row["reserved"]),
        settled=None if row["settled"] is None else Decimal(row["settled"]),
        state=HoldState(row["state"]),
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
        estimated=bool(row["cost_estimated"]),
    )


def get_hold(tx: Tx, task_id: int) -> Hold | None:
    """The hold of a task, or None."""
    rows = tx.fetchall("SELECT * FROM ledger_holds WHERE task_id = ?", (task_id,))
    return row_to_hold(rows[0]) if rows else None


def insert_hold(
    tx: Tx,
    *,
    task_id: int,
    key: int,
    member_id: int,
    period_start: datetime,
    reserved: Decimal,
    now: datetime,
) -> None:
    """Insert an active hold (inside the caller's write transaction)."""
    stamp = iso(now)
    tx.execute(
        """INSERT INTO ledger_holds
               (task_id, guild_id, member_id, period_start, reserved, state, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 'active', ?, ?)""",
        (task_id, key, member_id, iso(period_start), str(reserved), stamp, stamp),
    )


def close_hold(
    tx: Tx, task_id: int, state: HoldState, cost: Decimal, now: datetime, *, estimated: bool = False
) -> bool:
    """Move an active hold to ``state`` with its final cost; False if it is not active (or absent)."""
    stamp = iso(now)
    cur = tx.execute(
        """UPDATE ledger_holds SET state = ?, settled = ?, cost_estimated = ?, updated_at = ?, closed_at = ?
           WHERE task_id = ? AND state = 'active'""",
        (state.value, str(cost), int(estimated), stamp, stamp, task_id),
    )
    return cur.rowcount == 1


def member_spend(
    tx: Tx, key: int, member_id: int, start: datetime, end: datetime
) -> tuple[Decimal, Decimal]:
    """(settled, active holds) of a member for holds whose period starts in [start, end)."""
    rows = tx.fetchall(
        f"""SELECT state, reserved, settled FROM ledger_holds
            WHERE guild_id = ? AND member_id = ? AND period_start >= ? AND period_start < ?
              AND {_COUNTED}""",  # noqa: S608
        (key, member_id, iso(start), iso(end)),
    )
    settled = _total(_amount(r) for r in rows if r["state"] == HoldState.SETTLED)
    active = _total(_amount(r) for r in rows if r["state"] == HoldState.ACTIVE)
    return settled, active


def guild_spend(tx: Tx, key: int, start: datetime, end: datetime) -> Decimal:
    """Settled plus active holds of every member of a guild, for holds whose period starts in [start, end)."""
    rows = tx.fetchall(
        f"""SELECT state, reserved, settled FROM ledger_holds
            WHERE guild_id = ? AND period_start >= ? AND period_start < ? AND {_COUNTED}""",  # noqa: S608
        (key, iso(start), iso(end)),
    )
    return _total(_amount(r) for r in rows)


def active_total(tx: Tx) -> Decimal:
    """All active holds of every guild and period (work whose cost is not known yet)."""
    rows = tx.fetchall("SELECT reserved FROM ledger_holds WHERE state = 'active'", ())
    return _total(Decimal(r["reserved"]) for r in rows)


def settled_since_summary(tx: Tx) -> Decimal:
    """Costs settled after the last usage summary was read (all of them before the first one)."""
    rows = tx.fetchall(
        """SELECT settled FROM ledger_holds WHERE state = 'settled'
           AND closed_at > COALESCE((SELECT updated_at FROM ledger_account WHERE id = 1), '')""",
        (),
    )
    return _total(Decimal(r["settled"] or "0") for r in rows)


def totals_by_member(tx: Tx, key: int, start: datetime, end: datetime) -> list[MemberSpend]:
    """Per-member spend of holds created in [start, end), biggest spender first."""
    rows = tx.fetchall(
        f"""SELECT member_id, state, reserved, settled FROM ledger_holds
            WHERE guild_id = ? AND created_at >= ? AND created_at < ? AND {_COUNTED}""",  # noqa: S608
        (key, iso(start), iso(end)),
    )
    acc: dict[int, list[Any]] = {}
    for r in rows:
        entry = acc.setdefault(int(r["member_id"]), [ZERO, ZERO, 0])
        entry[0 if r["state"] == HoldState.SETTLED else 1] += _amount(r)
        entry[2] += 1
    spends = [MemberSpend(member, settled, reserved, tasks) for member, (settled, reserved, tasks) in acc.items()]
    spends.sort(key=lambda s: (-(s.settled + s.reserved), s.member_id))
    return spends


def load_price(tx: Tx, model: str) -> Decimal | None:
    """The cached unit price of a model, or None before any usage summary priced it."""
    rows = tx.fetchall("SELECT unit_price FROM ledger_prices WHERE model = ?", (model,))
    return Decimal(rows[0]["unit_price"]) if rows else None


def learn_task_price(tx: Tx, task_id: int, model: str, price: Decimal, now: datetime, keep: int) -> None:
    """Remember what one task paid per image; only the newest ``keep`` of a model are kept."""
    tx.execute(
        "INSERT OR REPLACE INTO ledger_task_prices (task_id, model, unit_price, learned_at) VALUES (?, ?, ?, ?)",
        (task_id, model, str(price), iso(now)),
    )
    tx.execute(
        """DELETE FROM ledger_task_prices WHERE model = ? AND task_id NOT IN (
               SELECT task_id FROM ledger_task_prices WHERE model = ?
               ORDER BY learned_at DESC, task_id DESC LIMIT ?)""",
        (model, model, keep),
    )


def recent_task_prices(tx: Tx, model: str) -> list[Decimal]:
    """The per-image prices recent completed tasks of a model paid."""
    rows = tx.fetchall("SELECT unit_price FROM ledger_task_prices WHERE model = ?", (model,))
    return [Decimal(r["unit_price"]) for r in rows]


def load_usage_cost(tx: Tx) -> Decimal | None:
    """The account total of the last usage summary, or None before the first one."""
    rows = tx.fetchall("SELECT usage_cost FROM ledger_account WHERE id = 1", ())
    return Decimal(rows[0]["usage_cost"]) if rows else None


def store_usage(
    tx: Tx, prices: Mapping[str, Decimal], usage_cost: Decimal, now: datetime
) -> None:
    """Save unit prices and the account total of one usage summary."""
    stamp = iso(now)
    for model, price in prices.items():
        tx.execute(
            "INSERT INTO ledger_prices (model, unit_price, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (model) DO UPDATE SET unit_price = excluded.unit_price, updated_at = excluded.updated_at",
            (model, str(price), stamp),
        )
    tx.execute(
        "INSERT INTO ledger_account (id, usage_cost, updated_at) VALUES (1, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET usage_cost = excluded.usage_cost, updated_at = excluded.updated_at",
        (str(usage_cost), stamp),
    )
