"""SQL of the usage reports (``ReportQueries``): a read model over ``tasks`` joined with ``ledger_holds``.

It goes around the task store and the ledger on purpose: one query per report, always filtered by
guild, counting a task's money exactly as the ledger counts its hold.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.clock import from_iso, to_iso
from bot.ledger import HoldState
from bot.lifecycle.model import TaskStatus
from bot.reports import TaskLine
from bot.storage.ports import HoldTotals

from .ledger import hold_amount

log = logging.getLogger(__name__)

ZERO = Decimal(0)

_WHEN = "COALESCE(h.created_at, t.created_at)"
_SELECT = f"""
    SELECT t.id, t.member_id, t.prompt, t.count, t.status, t.output_urls,
           h.state, h.reserved, h.settled, {_WHEN} AS happened_at
    FROM tasks AS t LEFT JOIN ledger_holds AS h ON h.task_id = t.id
    WHERE t.guild_id = ?"""


def row_to_line(row: sqlite3.Row) -> TaskLine:
    """A TaskLine from a row of the joined query."""
    return TaskLine(
        task_id=int(row["id"]),
        member_id=int(row["member_id"]),
        created_at=from_iso(row["happened_at"]),
        prompt=row["prompt"],
        requested=int(row["count"]),
        images=len(json.loads(row["output_urls"] or "[]")),
        status=TaskStatus(row["status"]),
        hold_state=None if row["state"] is None else HoldState(row["state"]),
        cost=hold_amount(row),
    )


class SqliteReports:
    """``ReportQueries`` over one SQLite connection."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def task_lines(
        self, guild_id: int, *, member_id: int | None, start: datetime | None, end: datetime | None
    ) -> list[TaskLine]:
        sql = _SELECT
        params: list[Any] = [int(guild_id)]
        if member_id is not None:
            sql += " AND t.member_id = ?"
            params.append(int(member_id))
        if start is not None:
            sql += f" AND {_WHEN} >= ?"
            params.append(to_iso(start))
        if end is not None:
            sql += f" AND {_WHEN} < ?"
            params.append(to_iso(end))
        rows = self._conn.execute(sql + f" ORDER BY {_WHEN} DESC, t.id DESC", params).fetchall()
        return [row_to_line(row) for row in rows]

    def hold_totals(self, guild_id: int) -> HoldTotals:
        rows = self._conn.execute(
            "SELECT state, reserved, settled FROM ledger_holds WHERE guild_id = ? AND state IN ('active', 'settled')",
            (guild_id,),
        ).fetchall()
        settled = [hold_amount(r) for r in rows if r["state"] == HoldState.SETTLED]
        active = [hold_amount(r) for r in rows if r["state"] == HoldState.ACTIVE]
        return HoldTotals(settled=sum(settled, ZERO), reserved=sum(active, ZERO), active=len(active))
