"""SQL for the ``processes`` and ``request_budget`` tables (``ProcessRepository``), PostgreSQL dialect.

The server's clock (``clock_timestamp()``) decides who is live and how long a pause lasts, so hosts
whose clocks differ agree, as for leases.
"""

from __future__ import annotations

import logging

from ._bridge import Bridge

log = logging.getLogger(__name__)

_AGO = "clock_timestamp() - {} * interval '1 second'"


class PostgresProcesses:
    """``ProcessRepository`` over one PostgreSQL transaction."""

    __slots__ = ("_db",)

    def __init__(self, db: Bridge) -> None:
        self._db = db

    def register(self, owner: str, seat: str, number: int, ttl: float, *, replace_seat: bool) -> int | None:
        replaced = self._db.fetchval(
            f"SELECT MIN(number) FROM processes WHERE seat = $1 AND $2 AND heartbeat_at > {_AGO.format('$3')} "
            "AND owner <> $4",
            seat,
            replace_seat,
            float(ttl),
            owner,
        )
        self._db.execute(
            f"DELETE FROM processes WHERE (seat = $1 AND $4) OR heartbeat_at <= {_AGO.format('$2')} OR owner = $3",
            seat,
            float(ttl),
            owner,
            replace_seat,
        )
        self._db.execute(
            "INSERT INTO processes (owner, seat, number, seen, started_at, heartbeat_at) "
            "VALUES ($1, $2, $3, $3, clock_timestamp(), clock_timestamp()) ON CONFLICT (owner) DO UPDATE "
            "SET seat = excluded.seat, number = excluded.number, seen = excluded.seen, "
            "started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
            owner,
            seat,
            number,
        )
        return None if replaced is None else int(replaced)

    def heartbeat(self, owner: str, ttl: float, seen: int) -> bool:
        changed = self._db.execute(
            f"UPDATE processes SET heartbeat_at = clock_timestamp(), seen = $1 "
            f"WHERE owner = $2 AND heartbeat_at > {_AGO.format('$3')}",
            seen,
            owner,
            float(ttl),
        )
        return changed == 1

    def live(self, ttl: float) -> list[tuple[str, int]]:
        rows = self._db.fetch(
            f"SELECT owner, seen FROM processes WHERE heartbeat_at > {_AGO.format('$1')} ORDER BY owner", float(ttl)
        )
        return [(str(row["owner"]), int(row["seen"])) for row in rows]

    def deregister(self, owner: str) -> None:
        self._db.execute("DELETE FROM processes WHERE owner = $1", owner)

    def record_pause(self, seconds: float, slowdowns: int) -> None:
        # The row lock makes processes recording at once take turns: every slowdown is counted.
        self._db.execute(
            "INSERT INTO request_budget (id, paused_until, slowdowns) "
            "VALUES (1, clock_timestamp() + $1 * interval '1 second', $2) ON CONFLICT (id) DO UPDATE "
            "SET paused_until = GREATEST(request_budget.paused_until, excluded.paused_until), "
            "slowdowns = request_budget.slowdowns + excluded.slowdowns",
            max(0.0, float(seconds)),
            slowdowns,
        )

    def pause_state(self) -> tuple[float, int]:
        row = self._db.fetchrow(
            "SELECT GREATEST(0, EXTRACT(EPOCH FROM paused_until - clock_timestamp()))::float8 AS left, slowdowns "
            "FROM request_budget WHERE id = 1"
        )
        if row is None:
            return 0.0, 0
        return float(row["left"] or 0.0), int(row["slowdowns"])
