"""SQL of the usage reports (``ReportQueries``), PostgreSQL: a read model over ``tasks`` joined with ``ledger_holds``.

As in the SQLite backend it goes around the task store and the ledger on purpose: one query per
report, always filtered by guild, counting a task's money exactly as the ledger counts its hold.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from bot.clock import require_aware
from bot.ledger import HoldState
from bot.lifecycle.model import TaskStatus
from bot.reports import TaskLine
from bot.storage.ports import HoldTotals

from ._bridge import Bridge, Row
from .ledger import hold_amount

log = logging.getLogger(__name__)

ZERO = Decimal(0)

_WHEN = "COALESCE(h.created_at, t.created_at)"


def row_to_line(row: Row) -> TaskLine:
    """A TaskLine from a row of the joined query."""
    return TaskLine(
        task_id=int(row["id"]),
        member_id=int(row["member_id"]),
        created_at=row["happened_at"],
        prompt=row["prompt"],
        requested=int(row["count"]),
        images=int(row["images"]),
        status=TaskStatus(row["status"]),
        hold_state=None if row["state"] is None else HoldState(row["state"]),
        cost=hold_amount(row),
    )


class PostgresReports:
    """``ReportQueries`` over one PostgreSQL transaction."""

    __slots__ = ("_db",)

    def __init__(self, db: Bridge) -> None:
        self._db = db

    def task_lines(
        self, guild_id: int, *, member_id: int | None, start: datetime | None, end: datetime | None
    ) -> list[TaskLine]:
        rows = self._db.fetch(
            f"""SELECT t.id, t.member_id, t.prompt, t.count, t.status, jsonb_array_length(t.output_urls) AS images,
                       h.state, h.reserved, h.settled, {_WHEN} AS happened_at
                FROM tasks AS t LEFT JOIN ledger_holds AS h ON h.task_id = t.id
                WHERE t.guild_id = $1 AND ($2::bigint IS NULL OR t.member_id = $2)
                  AND ($3::timestamptz IS NULL OR {_WHEN} >= $3) AND ($4::timestamptz IS NULL OR {_WHEN} < $4)
                ORDER BY {_WHEN} DESC, t.id DESC""",
            int(guild_id),
            None if member_id is None else int(member_id),
            None if start is None else require_aware(start),
            None if end is None else require_aware(end),
        )
        return [row_to_line(row) for row in rows]

    def hold_totals(self, guild_id: int) -> HoldTotals:
        row = self._db.fetchrow(
            """SELECT COALESCE(SUM(COALESCE(settled, 0)) FILTER (WHERE state = 'settled'), 0) AS settled,
                      COALESCE(SUM(reserved) FILTER (WHERE state = 'active'), 0) AS reserved,
                      COUNT(*) FILTER (WHERE state = 'active') AS active
               FROM ledger_holds WHERE guild_id = $1""",
            guild_id,
        )
        assert row is not None
        return HoldTotals(settled=Decimal(row["settled"]), reserved=Decimal(row["reserved"]), active=int(row["active"]))
