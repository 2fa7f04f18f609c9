"""GuildSettings: typed per-guild and per-member values over ``GuildSettingsRepository``, defaults when unset.

A ``Setting`` names a key, its default and how a stored JSON value is checked on the way in and out,
so a value written by an older or newer bot that no longer fits reads as the default (logged once
per read) instead of breaking a command. Each write is its own transaction; the last write wins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from bot.clock import utcnow
from bot.storage import JsonValue, Storage

log = logging.getLogger(__name__)

T = TypeVar("T")

DM_GUILD = 0
"""The guild key used for direct messages (``guild_id=None``), as the ledger keys them."""


def _key(guild_id: int | None) -> int:
    return DM_GUILD if guild_id is None else int(guild_id)


@dataclass(frozen=True, slots=True)
class Setting(Generic[T]):
    """A typed setting: its stored ``key``, its ``default``, and ``check`` (ValueError if a value does not fit)."""

    key: str
    default: T
    check: Callable[[JsonValue], T]
    encode: Callable[[T], JsonValue] = lambda value: value

    def decode(self, stored: JsonValue | None) -> T:
        """The stored value as ``T``; the default when unset or no longer valid."""
        if stored is None:
            return self.default
        try:
            return self.check(stored)
        except (TypeError, ValueError) as exc:
            log.warning("setting %s: stored value is not valid (%s); using the default", self.key, exc)
            return self.default


def optional_id(value: JsonValue) -> int | None:
    """A Discord snowflake, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"expected a Discord id, not {value!r}")
    return value


def words(value: JsonValue) -> tuple[str, ...]:
    """A list of non-empty strings, lower-cased, in order, without repeats."""
    if not isinstance(value, list | tuple) or not all(isinstance(word, str) and word.strip() for word in value):
        raise ValueError(f"expected a list of words, not {value!r}")
    return tuple(dict.fromkeys(word.strip().lower() for word in value))


MOD_LOG_CHANNEL: Setting[int | None] = Setting("mod_log_channel", None, optional_id)
"""Where moderation notices go; None = nowhere."""
BLOCKED_WORDS: Setting[tuple[str, ...]] = Setting("prompt.blocked_words", (), words, lambda value: list(value))
"""Words a prompt may not contain (prompt policy); empty = none."""


class GuildSettings:
    """Per-guild settings and per-member preferences; ``guild_id=None`` (DMs) is a guild of its own."""

    def __init__(self, storage: Storage, clock: Callable[[], datetime] = utcnow) -> None:
        self._storage = storage
        self._clock = clock

    async def get(self, guild_id: int | None, setting: Setting[T]) -> T:
        """The guild's value, or the setting's default when unset."""
        key = _key(guild_id)
        return setting.decode(await self._storage.read(lambda tx: tx.guilds.get(key, setting.key)))

    async def set(self, guild_id: int | None, setting: Setting[T], value: T) -> None:
        """Store the guild's value (ValueError if it does not fit; the default or None unsets it)."""
        key, stored = _key(guild_id), self._stored(setting, value)
        if stored is None:
            await self._storage.transaction(lambda tx: tx.guilds.delete(key, setting.key))
            return
        now = self._clock()
        await self._storage.transaction(lambda tx: tx.guilds.put(key, setting.key, stored, now))

    async def reset(self, guild_id: int | None, setting: Setting[T]) -> None:
        """Forget the guild's value: the default applies again."""
        key = _key(guild_id)
        await self._storage.transaction(lambda tx: tx.guilds.delete(key, setting.key))

    async def get_member(self, guild_id: int | None, member_id: int, setting: Setting[T]) -> T:
        """The member's own value in this guild, or the setting's default when unset."""
        key = _key(guild_id)
        stored = await self._storage.read(lambda tx: tx.guilds.get_member(key, member_id, setting.key))
        return setting.decode(stored)

    async def set_member(self, guild_id: int | None, member_id: int, setting: Setting[T], value: T) -> None:
        """Store the member's own value in this guild (the default or None unsets it)."""
        key, stored = _key(guild_id), self._stored(setting, value)
        if stored is None:
            await self._storage.transaction(lambda tx: tx.guilds.delete_member(key, member_id, setting.key))
            return
        now = self._clock()
        await self._storage.transaction(lambda tx: tx.guilds.put_member(key, member_id, setting.key, stored, now))

    async def reset_member(self, guild_id: int | None, member_id: int, setting: Setting[T]) -> None:
        """Forget the member's own value: the default applies again."""
        key = _key(guild_id)
        await self._storage.transaction(lambda tx: tx.guilds.delete_member(key, member_id, setting.key))

    @staticmethod
    def _stored(setting: Setting[T], value: T) -> JsonValue | None:
        """What to store for ``value``: None when it is the default (nothing stored), else its JSON form."""
        encoded = setting.encode(value)
        setting.check(encoded)  # refuse what could not be read back
        return None if value == setting.default or encoded is None else encoded
