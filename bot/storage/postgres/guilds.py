"""SQL for per-guild and per-member settings that are not money (``GuildSettingsRepository``), PostgreSQL."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from bot.clock import require_aware
from bot.storage.ports import JsonValue

from ._bridge import Bridge
from ._locks import Locks

log = logging.getLogger(__name__)


def _encode(value: JsonValue) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


class PostgresGuildSettings:
    """``GuildSettingsRepository`` over one PostgreSQL transaction: JSONB in ``guild_settings``/``member_settings``."""

    __slots__ = ("_db", "_locks")

    def __init__(self, db: Bridge, locks: Locks) -> None:
        self._db = db
        self._locks = locks

    def get(self, guild_id: int, key: str) -> JsonValue | None:
        # Read in a change, a setting is about to be changed from what it was: lock it until commit.
        self._locks.take("setting", guild_id, key)
        value = self._db.fetchval("SELECT value FROM guild_settings WHERE guild_id = $1 AND key = $2", guild_id, key)
        return None if value is None else json.loads(value)

    def put(self, guild_id: int, key: str, value: JsonValue, now: datetime) -> None:
        self._db.execute(
            "INSERT INTO guild_settings (guild_id, key, value, updated_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (guild_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            guild_id,
            key,
            _encode(value),
            require_aware(now),
        )

    def delete(self, guild_id: int, key: str) -> None:
        self._db.execute("DELETE FROM guild_settings WHERE guild_id = $1 AND key = $2", guild_id, key)

    def all(self, guild_id: int) -> dict[str, JsonValue]:
        rows = self._db.fetch("SELECT key, value FROM guild_settings WHERE guild_id = $1", guild_id)
        return {str(row["key"]): json.loads(row["value"]) for row in rows}

    def get_member(self, guild_id: int, member_id: int, key: str) -> JsonValue | None:
        self._locks.take("member-setting", guild_id, member_id, key)
        value = self._db.fetchval(
            "SELECT value FROM member_settings WHERE guild_id = $1 AND member_id = $2 AND key = $3",
            guild_id,
            member_id,
            key,
        )
        return None if value is None else json.loads(value)

    def put_member(self, guild_id: int, member_id: int, key: str, value: JsonValue, now: datetime) -> None:
        self._db.execute(
            "INSERT INTO member_settings (guild_id, member_id, key, value, updated_at) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (guild_id, member_id, key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            guild_id,
            member_id,
            key,
            _encode(value),
            require_aware(now),
        )

    def delete_member(self, guild_id: int, member_id: int, key: str) -> None:
        self._db.execute(
            "DELETE FROM member_settings WHERE guild_id = $1 AND member_id = $2 AND key = $3", guild_id, member_id, key
        )

    def member_all(self, guild_id: int, member_id: int) -> dict[str, JsonValue]:
        rows = self._db.fetch(
            "SELECT key, value FROM member_settings WHERE guild_id = $1 AND member_id = $2", guild_id, member_id
        )
        return {str(row["key"]): json.loads(row["value"]) for row in rows}

    def delete_member_all(self, guild_id: int, member_id: int) -> int:
        return self._db.execute(
            "DELETE FROM member_settings WHERE guild_id = $1 AND member_id = $2", guild_id, member_id
        )
