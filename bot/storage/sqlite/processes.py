"""SQL for the ``processes`` and ``request_budget`` tables (``ProcessRepository``).

SQLite is one file on one machine, so that machine's clock is the database's, as for leases.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

from bot.clock import from_iso, to_iso, utcnow

log = logging.getLogger(__name__)


def _ago(seconds: float) -> str:
    return to_iso(utcnow() - timedelta(seconds=seconds))


class SqliteProcesses:
    """``ProcessRepository`` over one SQLite connection, inside the caller's transaction."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def register(self, owner: str, seat: str, number: int, ttl: float, *, replace_seat: bool) -> int | None:
        [(replaced,)] = self._conn.execute(
            "SELECT MIN(number) FROM processes WHERE seat = ? AND ? AND heartbeat_at > ? AND owner <> ?",
            (seat, replace_seat, _ago(ttl), owner),
        ).fetchall()
        self._conn.execute(
            "DELETE FROM processes WHERE (seat = ? AND ?) OR heartbeat_at <= ? OR owner = ?",
            (seat, replace_seat, _ago(ttl), owner),
        )
        now = to_iso(utcnow())
        self._conn.execute(
            "INSERT OR REPLACE INTO processes (owner, seat, number, seen, started_at, heartbeat_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (owner, seat, number, number, now, now),
        )
        return None if replaced is None else int(replaced)

    def heartbeat(self, owner: str, ttl: float, seen: int) -> bool:
        cur = self._conn.execute(
            "UPDATE processes SET heartbeat_at = ?, seen = ? WHERE owner = ? AND heartbeat_at > ?",
            (to_iso(utcnow()), seen, owner, _ago(ttl)),
        )
        return cur.rowcount == 1

    def live(self, ttl: float) -> list[tuple[str, int]]:
        rows = self._conn.execute(
            "SELECT owner, seen FROM processes WHERE heartbeat_at > ? ORDER BY owner", (_ago(ttl),)
        ).fetchall()
        return [(str(row[0]), int(row[1])) for row in rows]

    def deregister(self, owner: str) -> None:
        self._conn.execute("DELETE FROM processes WHERE owner = ?", (owner,))

    def record_pause(self, seconds: float, slowdowns: int) -> None:
        until = to_iso(utcnow() + timedelta(seconds=max(0.0, seconds)))
        self._conn.execute(  # ISO times in UTC compare as text; max() of text keeps the later one
            "INSERT INTO request_budget (id, paused_until, slowdowns) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE "
            "SET paused_until = max(coalesce(paused_until, ''), excluded.paused_until), "
            "slowdowns = slowdowns + excluded.slowdowns",
            (until, slowdowns),
        )

    def pause_state(self) -> tuple[float, int]:
        rows = self._conn.execute("SELECT paused_until, slowdowns FROM request_budget WHERE id = 1").fetchall()
        if not rows:
            return 0.0, 0
        until, slowdowns = rows[0]
        left = 0.0 if until is None else (from_iso(str(until)) - utcnow()).total_seconds()
        return max(0.0, left), int(slowdowns)
