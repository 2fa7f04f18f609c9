"""SQL for holds, prices, the account total and per-guild quota policy (``LedgerRepository``), PostgreSQL.

Money is NUMERIC and sums are SQL ``SUM`` over NUMERIC: exact, Decimal in Python, never floats.
The reads a reservation decides on lock what they count first (``_locks``), so concurrent
reservations by one member, in one guild with a server cap, or under an account budget, take
turns and none overdraws, across processes too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.clock import require_aware
from bot.ledger import DM_GUILD, Adjustment, AdjustmentKind, Hold, HoldState, MemberSpend
from bot.storage.ports import GuildOverrides

from ._bridge import Bridge, Row
from ._locks import Locks

log = logging.getLogger(__name__)

ZERO = Decimal(0)

_COUNTED = "state IN ('active', 'settled')"
_AMOUNT = "CASE state WHEN 'active' THEN reserved WHEN 'settled' THEN COALESCE(settled, 0) ELSE 0 END"
_GUILD_COLUMNS = frozenset({"member_limit", "period", "timezone", "server_cap", "paused"})
_ROLE_COLUMNS = frozenset({"member_limit", "exempt"})
_BOOLEAN_COLUMNS = frozenset({"paused", "exempt"})
_MONEY_COLUMNS = frozenset({"member_limit", "server_cap"})


def _decimal(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value)


def _column_value(column: str, value: str | int | None) -> Any:
    """The domain passes flags as 0/1 and money as text (SQLite's forms); PostgreSQL takes bool and Decimal."""
    if value is None:
        return None
    if column in _BOOLEAN_COLUMNS:
        return bool(value)
    if column in _MONEY_COLUMNS:
        return Decimal(value)
    return value


def hold_amount(row: Row) -> Decimal:
    """What a hold row counts: reserved while active, the real cost once settled, 0 once released."""
    if row["state"] == HoldState.ACTIVE:
        return Decimal(row["reserved"])
    if row["state"] == HoldState.SETTLED:
        return _decimal(row["settled"])
    return ZERO


def row_to_hold(row: Row) -> Hold:
    """Build a Hold from a ledger_holds row."""
    return Hold(
        task_id=int(row["task_id"]),
        guild_id=None if row["guild_id"] == DM_GUILD else int(row["guild_id"]),
        member_id=int(row["member_id"]),
        period_start=row["period_start"],
        reserved=row["reserved"],
        settled=row["settled"],
        state=HoldState(row["state"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        estimated=bool(row["cost_estimated"]),
    )


def row_to_adjustment(row: Row) -> Adjustment:
    """Build an Adjustment from a ledger_adjustments row."""
    return Adjustment(
        id=int(row["id"]),
        guild_id=None if row["guild_id"] == DM_GUILD else int(row["guild_id"]),
        member_id=int(row["member_id"]),
        kind=AdjustmentKind(row["kind"]),
        amount=row["amount"],
        moderator_id=int(row["moderator_id"]),
        period_start=row["period_start"],
        created_at=row["created_at"],
    )


class PostgresLedger:
    """``LedgerRepository`` over one PostgreSQL transaction."""

    __slots__ = ("_db", "_locks")

    def __init__(self, db: Bridge, locks: Locks) -> None:
        self._db = db
        self._locks = locks

    # -- holds -----------------------------------------------------------------------------------

    def hold(self, task_id: int) -> Hold | None:
        row = self._db.fetchrow("SELECT * FROM ledger_holds WHERE task_id = $1", task_id)
        return None if row is None else row_to_hold(row)

    def insert_hold(
        self, *, task_id: int, key: int, member_id: int, period_start: datetime, reserved: Decimal, now: datetime
    ) -> None:
        self._db.execute(
            """INSERT INTO ledger_holds
                   (task_id, guild_id, member_id, period_start, reserved, state, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, 'active', $6, $6)""",
            task_id,
            key,
            member_id,
            require_aware(period_start),
            reserved,
            require_aware(now),
        )

    def close_hold(
        self, task_id: int, state: HoldState, cost: Decimal, now: datetime, *, estimated: bool = False
    ) -> bool:
        # Guarded: of a webhook and a poll (or two processes) ending one task, one closes its hold.
        # A hold moving from active to settled changes two sums an account-budget check reads one
        # after the other (``settled_since_summary``, ``active_total``): it waits for such a check,
        # and such a check for it, so none sees the hold in neither sum.
        self._locks.take("account")
        changed = self._db.execute(
            """UPDATE ledger_holds SET state = $1, settled = $2, cost_estimated = $3, updated_at = $4, closed_at = $4
               WHERE task_id = $5 AND state = 'active'""",
            state.value,
            cost,
            estimated,
            require_aware(now),
            task_id,
        )
        return changed == 1

    def member_spend(self, key: int, member_id: int, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        self._locks.take("spend", key, member_id)
        row = self._db.fetchrow(
            f"""SELECT COALESCE(SUM(COALESCE(settled, 0)) FILTER (WHERE state = 'settled'), 0) AS settled,
                       COALESCE(SUM(reserved) FILTER (WHERE state = 'active'), 0) AS reserved
                FROM ledger_holds
                WHERE guild_id = $1 AND member_id = $2 AND period_start >= $3 AND period_start < $4 AND {_COUNTED}""",
            key,
            member_id,
            require_aware(start),
            require_aware(end),
        )
        assert row is not None
        return _decimal(row["settled"]), _decimal(row["reserved"])

    def guild_spend(self, key: int, start: datetime, end: datetime) -> Decimal:
        self._locks.take("guild", key)
        value = self._db.fetchval(
            f"""SELECT SUM({_AMOUNT}) FROM ledger_holds
                WHERE guild_id = $1 AND period_start >= $2 AND period_start < $3 AND {_COUNTED}""",
            key,
            require_aware(start),
            require_aware(end),
        )
        return _decimal(value)

    def active_total(self) -> Decimal:
        self._locks.take("account")
        return _decimal(self._db.fetchval("SELECT SUM(reserved) FROM ledger_holds WHERE state = 'active'"))

    def settled_total(self) -> Decimal:
        value = self._db.fetchval("SELECT SUM(COALESCE(settled, 0)) FROM ledger_holds WHERE state = 'settled'")
        return _decimal(value)

    def settled_since_summary(self) -> Decimal:
        self._locks.take("account")
        value = self._db.fetchval(
            """SELECT SUM(COALESCE(settled, 0)) FROM ledger_holds WHERE state = 'settled'
               AND closed_at > COALESCE((SELECT updated_at FROM ledger_account WHERE id = 1), '-infinity')"""
        )
        return _decimal(value)

    def spend_by_member(self, key: int, start: datetime, end: datetime) -> list[MemberSpend]:
        rows = self._db.fetch(
            f"""SELECT member_id,
                       COALESCE(SUM(COALESCE(settled, 0)) FILTER (WHERE state = 'settled'), 0) AS settled,
                       COALESCE(SUM(reserved) FILTER (WHERE state = 'active'), 0) AS reserved,
                       COUNT(*) AS tasks
                FROM ledger_holds
                WHERE guild_id = $1 AND created_at >= $2 AND created_at < $3 AND {_COUNTED}
                GROUP BY member_id""",
            key,
            require_aware(start),
            require_aware(end),
        )
        return [
            MemberSpend(int(r["member_id"]), _decimal(r["settled"]), _decimal(r["reserved"]), int(r["tasks"]))
            for r in rows
        ]

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
        row = self._db.fetchrow(
            """INSERT INTO ledger_adjustments
                   (guild_id, member_id, kind, amount, moderator_id, period_start, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
            key,
            member_id,
            kind.value,
            amount,
            moderator_id,
            require_aware(period_start),
            require_aware(now),
        )
        assert row is not None
        return row_to_adjustment(row)

    def member_adjustments(self, key: int, member_id: int, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        row = self._db.fetchrow(
            """SELECT COALESCE(SUM(amount) FILTER (WHERE kind = 'topup'), 0) AS topup,
                      COALESCE(SUM(amount) FILTER (WHERE kind = 'reset'), 0) AS forgiven
               FROM ledger_adjustments
               WHERE guild_id = $1 AND member_id = $2 AND period_start >= $3 AND period_start < $4""",
            key,
            member_id,
            require_aware(start),
            require_aware(end),
        )
        assert row is not None
        return _decimal(row["topup"]), _decimal(row["forgiven"])

    def adjustments(
        self, key: int, *, member_id: int | None, start: datetime | None, end: datetime | None
    ) -> list[Adjustment]:
        rows = self._db.fetch(
            """SELECT * FROM ledger_adjustments
               WHERE guild_id = $1 AND ($2::bigint IS NULL OR member_id = $2)
                 AND ($3::timestamptz IS NULL OR created_at >= $3) AND ($4::timestamptz IS NULL OR created_at < $4)
               ORDER BY created_at DESC, id DESC""",
            key,
            member_id,
            None if start is None else require_aware(start),
            None if end is None else require_aware(end),
        )
        return [row_to_adjustment(r) for r in rows]

    # -- prices and the account total ------------------------------------------------------------

    def summary_price(self, model: str) -> Decimal | None:
        value: Decimal | None = self._db.fetchval("SELECT unit_price FROM ledger_prices WHERE model = $1", model)
        return value

    def recent_task_prices(self, model: str) -> list[Decimal]:
        rows = self._db.fetch("SELECT unit_price FROM ledger_task_prices WHERE model = $1", model)
        return [Decimal(r["unit_price"]) for r in rows]

    def learn_task_price(self, task_id: int, model: str, price: Decimal, now: datetime, keep: int) -> None:
        self._db.execute(
            "INSERT INTO ledger_task_prices (task_id, model, unit_price, learned_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (task_id) DO UPDATE SET model = excluded.model, unit_price = excluded.unit_price, "
            "learned_at = excluded.learned_at",
            task_id,
            model,
            price,
            require_aware(now),
        )
        self._db.execute(
            """DELETE FROM ledger_task_prices WHERE model = $1 AND task_id NOT IN (
                   SELECT task_id FROM ledger_task_prices WHERE model = $1
                   ORDER BY learned_at DESC, task_id DESC LIMIT $2)""",
            model,
            keep,
        )

    def usage_cost(self) -> Decimal | None:
        self._locks.take("account")  # read with the sums it is added to (see ``close_hold``)
        value: Decimal | None = self._db.fetchval("SELECT usage_cost FROM ledger_account WHERE id = 1")
        return value

    def store_usage(self, prices: Mapping[str, Decimal], usage_cost: Decimal, now: datetime) -> None:
        self._locks.take("account")  # the total and the moment the settled sum counts from change together
        stamp = require_aware(now)
        self._db.executemany(
            "INSERT INTO ledger_prices (model, unit_price, updated_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (model) DO UPDATE SET unit_price = excluded.unit_price, updated_at = excluded.updated_at",
            [(model, price, stamp) for model, price in prices.items()],
        )
        self._db.execute(
            "INSERT INTO ledger_account (id, usage_cost, updated_at) VALUES (1, $1, $2) "
            "ON CONFLICT (id) DO UPDATE SET usage_cost = excluded.usage_cost, updated_at = excluded.updated_at",
            usage_cost,
            stamp,
        )

    # -- per-guild policy ------------------------------------------------------------------------

    def guild_overrides(self, key: int) -> GuildOverrides | None:
        row = self._db.fetchrow(
            "SELECT member_limit, period, timezone, server_cap, paused FROM ledger_guilds WHERE guild_id = $1", key
        )
        if row is None:
            return None
        return GuildOverrides(
            member_limit=row["member_limit"],
            period=row["period"],
            timezone=row["timezone"],
            server_cap=row["server_cap"],
            paused=bool(row["paused"]),
        )

    def role_overrides(self, key: int) -> tuple[dict[int, Decimal], frozenset[int]]:
        rows = self._db.fetch("SELECT role_id, member_limit, exempt FROM ledger_role_limits WHERE guild_id = $1", key)
        limits = {int(r["role_id"]): Decimal(r["member_limit"]) for r in rows if r["member_limit"] is not None}
        exempt = frozenset(int(r["role_id"]) for r in rows if r["exempt"])
        return limits, exempt

    def member_limit(self, key: int, member_id: int) -> Decimal | None:
        value: Decimal | None = self._db.fetchval(
            "SELECT member_limit FROM ledger_member_limits WHERE guild_id = $1 AND member_id = $2", key, member_id
        )
        return value

    def member_limits(self, key: int) -> dict[int, Decimal]:
        rows = self._db.fetch("SELECT member_id, member_limit FROM ledger_member_limits WHERE guild_id = $1", key)
        return {int(r["member_id"]): Decimal(r["member_limit"]) for r in rows}

    def set_guild(self, key: int, now: datetime, **columns: str | int | None) -> None:
        unknown = set(columns) - _GUILD_COLUMNS
        if unknown:
            raise ValueError(f"cannot set guild columns {sorted(unknown)}")
        names = list(columns)
        targets = "".join(f", {n}" for n in names)
        marks = "".join(f", ${i}" for i in range(3, 3 + len(names)))
        sets = ", ".join([*(f"{n} = excluded.{n}" for n in names), "updated_at = excluded.updated_at"])
        self._db.execute(
            f"INSERT INTO ledger_guilds (guild_id, updated_at{targets}) "
            f"VALUES ($1, $2{marks}) ON CONFLICT (guild_id) DO UPDATE SET {sets}",
            key,
            require_aware(now),
            *(_column_value(n, v) for n, v in columns.items()),
        )

    def set_role(self, key: int, role_id: int, now: datetime, column: str, value: str | int | None) -> None:
        if column not in _ROLE_COLUMNS:
            raise ValueError(f"cannot set role column {column!r}")
        self._db.execute(
            f"INSERT INTO ledger_role_limits (guild_id, role_id, {column}, updated_at) VALUES ($1, $2, $3, $4) "
            f"ON CONFLICT (guild_id, role_id) DO UPDATE SET {column} = excluded.{column}, "
            "updated_at = excluded.updated_at",
            key,
            role_id,
            _column_value(column, value) if column == "member_limit" else bool(value),
            require_aware(now),
        )
        self._db.execute(
            "DELETE FROM ledger_role_limits WHERE guild_id = $1 AND role_id = $2 AND member_limit IS NULL "
            "AND NOT exempt",
            key,
            role_id,
        )

    def set_member_limit(self, key: int, member_id: int, limit: Decimal | None, now: datetime) -> None:
        if limit is None:
            self._db.execute("DELETE FROM ledger_member_limits WHERE guild_id = $1 AND member_id = $2", key, member_id)
            return
        self._db.execute(
            "INSERT INTO ledger_member_limits (guild_id, member_id, member_limit, updated_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (guild_id, member_id) DO UPDATE SET member_limit = excluded.member_limit, "
            "updated_at = excluded.updated_at",
            key,
            member_id,
            limit,
            require_aware(now),
        )
