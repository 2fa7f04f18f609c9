"""SQL for per-guild and per-member settings that are not money (``GuildSettingsRepository``)."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime

from bot.clock import to_iso
from bot.storage.ports import JsonValue

log = logging.getLogger(__name__)


def _encode(value: JsonValue) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


class SqliteGuildSettings:
    """``GuildSettingsRepository`` over one SQLite connection: JSON text in ``guild_settings``/``member_settings``."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, guild_id: int, key: str) -> JsonValue | None:
        rows = self._conn.execute(
            "SELECT value FROM guild_settings WHERE guild_id = ? AND key = ?", (guild_id, key)
        ).fetchall()
        return json.loads(rows[0]["value"]) if rows else None

    def put(self, guild_id: int, key: str, value: JsonValue, now: datetime) -> None:
        self._conn.execute(
            "INSERT INTO guild_settings (guild_id, key, value, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (guild_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (guild_id, key, _encode(value), to_iso(now)),
        )

    def delete(self, guild_id: int, key: str) -> None:
        self._conn.execute("DELETE FROM guild_settings WHERE guild_id = ? AND key = ?", (guild_id, key))

    def all(self, guild_id: int) -> dict[str, JsonValue]:
        rows = self._conn.execute("SELECT key, value FROM guild_settings WHERE guild_id = ?", (guild_id,)).fetchall()
        return {str(row["key"]): json.loads(row["value"]) for row in rows}

    def get_member(self, guild_id: int, member_id: int, key: str) -> JsonValue | None:
        rows = self._conn.execute(
            "SELECT value FROM member_settings WHERE guild_id = ? AND member_id = ? AND key = ?",
            (guild_id, member_id, key),
        ).fetchall()
        return json.loads(rows[0]["value"]) if rows else None

    def put_member(self, guild_id: int, member_id: int, key: str, value: JsonValue, now: datetime) -> None:
        self._conn.execute(
            "INSERT INTO member_settings (guild_id, member_id, key, value, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id, member_id, key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (guild_id, member_id, key, _encode(value), to_iso(now)),
        )

    def delete_member(self, guild_id: int, member_id: int, key: str) -> None:
        self._conn.execute(
            "DELETE FROM member_settings WHERE guild_id = ? AND member_id = ? AND key = ?", (guild_id, member_id, key)
        )

    def member_all(self, guild_id: int, member_id: int) -> dict[str, JsonValue]:
        rows = self._conn.execute(
            "SELECT key, value FROM member_settings WHERE guild_id = ? AND member_id = ?", (guild_id, member_id)
        ).fetchall()
        return {str(row["key"]): json.loads(row["value"]) for row in rows}

    def delete_member_all(self, guild_id: int, member_id: int) -> int:
        cur = self._conn.execute(
            "DELETE FROM member_settings WHERE guild_id = ? AND member_id = ?", (guild_id, member_id)
        )
        return int(cur.rowcount)
