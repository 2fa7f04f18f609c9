"""GuildSettings: typed per-guild and per-member values over ``GuildSettingsRepository``, defaults when unset.

A ``Setting`` names a key, its default and how a stored JSON value is checked on the way in and out,
so a value written by an older or newer bot that no longer fits reads as the default (logged once
per read) instead of breaking a command. Each write is its own transaction; the last write wins.

A guild's settings are kept in memory once read (the prompt policy reads them on every /imagine),
and so are the last ``MEMBERS_KEPT`` members' own values (their /settings defaults, read by every
/imagine before it answers). This object forgets what it writes itself; a write by another bot
process on the same database is seen within ``CHECK_EVERY`` seconds: every write adds one to the
``guild_settings`` (or ``member_settings``) generation in the database, in its own transaction, and
a read compares both with the ones the memory was filled under, at most once per ``CHECK_EVERY``,
forgetting everything of the kind whose generation moved. Whoever deletes a member's values
elsewhere (``bot.members.data``'s erase) bumps ``MEMBER_GENERATION`` in its transaction and calls
``forget_member``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from bot.clock import utcnow
from bot.storage import JsonValue, Storage, Transaction

log = logging.getLogger(__name__)

T = TypeVar("T")

DM_GUILD = 0
"""The guild key used for direct messages (``guild_id=None``), as the ledger keys them."""
GENERATION = "guild_settings"
"""The generation every write of a guild's settings adds one to (``GenerationRepository``)."""
MEMBER_GENERATION = "member_settings"
"""The generation every write of a member's own values adds one to."""
MEMBERS_KEPT = 10_000
"""Members' values kept in memory at most (the most recently read); a member who set nothing is kept too."""
CHECK_EVERY = 1.0
"""Seconds at most between two looks at that generation: how stale another process's write can be here."""


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


def texts(value: JsonValue) -> tuple[str, ...]:
    """A list of non-empty strings kept as written (regular expressions), in order, without repeats."""
    if not isinstance(value, list | tuple) or not all(isinstance(text, str) and text.strip() for text in value):
        raise ValueError(f"expected a list of non-empty strings, not {value!r}")
    return tuple(dict.fromkeys(value))


def ids(value: JsonValue) -> tuple[int, ...]:
    """A list of Discord ids, in order, without repeats."""
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of Discord ids, not {value!r}")
    checked = [optional_id(item) for item in value]
    return tuple(dict.fromkeys(item for item in checked if item is not None))


def reasons_by_id(value: JsonValue) -> tuple[tuple[int, str], ...]:
    """``{"<id>": "reason"}`` as ``((id, reason), ...)`` sorted by id; a reason may be empty."""
    if not isinstance(value, dict) or not all(isinstance(reason, str) for reason in value.values()):
        raise ValueError(f"expected ids and their reasons, not {value!r}")
    try:
        pairs = {int(key): reason for key, reason in value.items()}
    except ValueError:
        raise ValueError(f"expected ids and their reasons, not {value!r}") from None
    for key in pairs:
        optional_id(key)
    return tuple(sorted(pairs.items()))


def flag(value: JsonValue) -> bool:
    """A yes/no switch."""
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, not {value!r}")
    return value


MOD_LOG_CHANNEL: Setting[int | None] = Setting("mod_log_channel", None, optional_id)
"""Where moderation notices go; None = nowhere."""
BLOCKED_WORDS: Setting[tuple[str, ...]] = Setting("prompt.blocked_words", (), words, lambda value: list(value))
"""Words a prompt may not contain (prompt policy); empty = none."""
BLOCKED_PATTERNS: Setting[tuple[str, ...]] = Setting("prompt.blocked_patterns", (), texts, lambda value: list(value))
"""Regular expressions a prompt may not match (prompt policy), as the moderator wrote them; empty = none."""
ALLOWED_CHANNELS: Setting[tuple[int, ...]] = Setting("imagine.allowed_channels", (), ids, lambda value: list(value))
"""The channels /imagine runs in (a thread counts as its parent channel); empty = every channel."""
BLOCKED_MEMBERS: Setting[tuple[tuple[int, str], ...]] = Setting(
    "members.blocked", (), reasons_by_id, lambda value: {str(member): reason for member, reason in value}
)
"""Members who may not use the bot here, each with the reason they are shown (may be empty)."""
SHOW_COSTS: Setting[bool] = Setting("captions.show_costs", True, flag)
"""Whether public result captions show what a job cost (members still see money in /balance and refusals)."""


@dataclass(frozen=True, slots=True)
class GuildValues:
    """Every stored setting of one guild, read at once; ``get`` decodes one as its ``Setting`` says."""

    stored: Mapping[str, JsonValue] = field(default_factory=dict)

    def get(self, setting: Setting[T]) -> T:
        """The value, or the setting's default when unset or no longer valid."""
        return setting.decode(self.stored.get(setting.key))


class GuildSettings:
    """Per-guild settings and per-member preferences; ``guild_id=None`` (DMs) is a guild of its own."""

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], datetime] = utcnow,
        *,
        ticks: Callable[[], float] = time.monotonic,
        check_every: float = CHECK_EVERY,
    ) -> None:
        self._storage = storage
        self._clock = clock
        # A guild's settings are read on every /imagine (the prompt policy) and written rarely, by
        # moderators: they are kept until a write changes them. The generations keep a read that
        # raced a write (here, per guild; or elsewhere, all guilds) from keeping what it replaced.
        self._cached: dict[int, GuildValues] = {}
        self._generation: dict[int, int] = {}
        self._ticks = ticks
        self._check_every = check_every
        self._checked_at = -math.inf
        self._seen: tuple[int, int] | None = None  # the database's generations the memory was last checked against
        self._epoch = 0  # moves whenever the database's generation did: every guild is forgotten
        self._members: OrderedDict[tuple[int, int], GuildValues] = OrderedDict()  # least recently read first
        self._member_writes = 0  # moves at each member write here and each forgetting of all members

    @contextlib.asynccontextmanager
    async def _writing(self, key: int) -> AsyncIterator[None]:
        self._forget(key)
        try:
            yield
        finally:
            self._forget(key)

    def _forget(self, key: int) -> None:
        self._generation[key] = self._generation.get(key, 0) + 1
        self._cached.pop(key, None)

    async def get(self, guild_id: int | None, setting: Setting[T]) -> T:
        """The guild's value, or the setting's default when unset."""
        key = _key(guild_id)
        return setting.decode(await self._storage.read(lambda tx: tx.guilds.get(key, setting.key)))

    async def values(self, guild_id: int | None) -> GuildValues:
        """All of the guild's settings in one read (for checks that need several on every request)."""
        key = _key(guild_id)
        await self._check()
        cached = self._cached.get(key)
        if cached is not None:
            return cached
        generation = (self._epoch, self._generation.get(key, 0))
        values = GuildValues(await self._storage.read(lambda tx: tx.guilds.all(key)))
        if (self._epoch, self._generation.get(key, 0)) == generation:
            self._cached[key] = values
        return values

    async def _check(self) -> None:
        """Forget every kept guild if another process wrote settings since the last look (at most every second)."""
        now = self._ticks()
        if now - self._checked_at < self._check_every:
            return
        self._checked_at = now
        seen = await self._storage.read(
            lambda tx: (tx.generations.get(GENERATION), tx.generations.get(MEMBER_GENERATION))
        )
        if self._seen is None or seen[0] != self._seen[0]:
            self._epoch += 1
            self._cached.clear()
        if self._seen is None or seen[1] != self._seen[1]:
            self.forget_members()
        self._seen = seen

    def forget_members(self) -> None:
        """Read every member's values from the database again (another writer changed some)."""
        self._member_writes += 1
        self._members.clear()

    def forget_member(self, guild_id: int | None, member_id: int) -> None:
        """Read this member's values from the database again (called after a write of them made elsewhere)."""
        self._member_writes += 1
        self._members.pop((_key(guild_id), member_id), None)

    async def update(self, guild_id: int | None, setting: Setting[T], change: Callable[[T], T]) -> T:
        """Read, ``change`` and store the value in one transaction, so two moderators' edits both count.

        ``change`` runs on the database thread: it must be quick and pure. What it raises rolls back.
        """
        key, now = _key(guild_id), self._clock()

        def apply(tx: Transaction) -> T:
            value = change(setting.decode(tx.guilds.get(key, setting.key)))
            stored = self._stored(setting, value)
            if stored is None:
                tx.guilds.delete(key, setting.key)
            else:
                tx.guilds.put(key, setting.key, stored, now)
            tx.generations.bump(GENERATION)
            return value

        async with self._writing(key):
            return await self._storage.transaction(apply)

    async def set(self, guild_id: int | None, setting: Setting[T], value: T) -> None:
        """Store the guild's value (ValueError if it does not fit; the default or None unsets it)."""
        key, stored = _key(guild_id), self._stored(setting, value)
        now = self._clock()

        def apply(tx: Transaction) -> None:
            if stored is None:
                tx.guilds.delete(key, setting.key)
            else:
                tx.guilds.put(key, setting.key, stored, now)
            tx.generations.bump(GENERATION)

        async with self._writing(key):
            await self._storage.transaction(apply)

    async def reset(self, guild_id: int | None, setting: Setting[T]) -> None:
        """Forget the guild's value: the default applies again."""
        key = _key(guild_id)

        def apply(tx: Transaction) -> None:
            tx.guilds.delete(key, setting.key)
            tx.generations.bump(GENERATION)

        async with self._writing(key):
            await self._storage.transaction(apply)

    async def get_member(self, guild_id: int | None, member_id: int, setting: Setting[T]) -> T:
        """The member's own value in this guild, or the setting's default when unset."""
        return (await self.member_values(guild_id, member_id)).get(setting)

    async def member_values(self, guild_id: int | None, member_id: int) -> GuildValues:
        """All of the member's own values in this guild, in one read (kept in memory, like a guild's)."""
        key = (_key(guild_id), member_id)
        await self._check()
        kept = self._members.get(key)
        if kept is not None:
            self._members.move_to_end(key)
            return kept
        writes = self._member_writes
        values = GuildValues(await self._storage.read(lambda tx: tx.guilds.member_all(key[0], member_id)))
        if self._member_writes == writes:  # no write here since the read began: what it read is current
            self._members[key] = values
            while len(self._members) > MEMBERS_KEPT:
                self._members.popitem(last=False)
        return values

    @contextlib.asynccontextmanager
    async def _writing_member(self, guild_id: int | None, member_id: int) -> AsyncIterator[None]:
        self.forget_member(guild_id, member_id)
        try:
            yield
        finally:
            self.forget_member(guild_id, member_id)

    async def set_member_values(
        self, guild_id: int | None, member_id: int, values: Mapping[Setting[Any], object]
    ) -> None:
        """Store several of the member's own values in one transaction (a default unsets one).

        Every value is checked first (ValueError if one does not fit): either all are stored or none.
        """
        key, now = _key(guild_id), self._clock()
        stored = [(setting.key, self._stored(setting, value)) for setting, value in values.items()]

        def apply(tx: Transaction) -> None:
            for name, value in stored:
                if value is None:
                    tx.guilds.delete_member(key, member_id, name)
                else:
                    tx.guilds.put_member(key, member_id, name, value, now)
            tx.generations.bump(MEMBER_GENERATION)

        async with self._writing_member(guild_id, member_id):
            await self._storage.transaction(apply)

    async def set_member(self, guild_id: int | None, member_id: int, setting: Setting[T], value: T) -> None:
        """Store the member's own value in this guild (the default or None unsets it)."""
        await self.set_member_values(guild_id, member_id, {setting: value})

    async def reset_member(self, guild_id: int | None, member_id: int, setting: Setting[T]) -> None:
        """Forget the member's own value: the default applies again."""
        await self.set_member_values(guild_id, member_id, {setting: setting.default})

    @staticmethod
    def _stored(setting: Setting[T], value: T) -> JsonValue | None:
        """What to store for ``value``: None when it is the default (nothing stored), else its JSON form."""
        encoded = setting.encode(value)
        setting.check(encoded)  # refuse what could not be read back
        return None if value == setting.default or encoded is None else encoded
