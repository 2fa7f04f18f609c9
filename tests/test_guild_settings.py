"""bot.guilds.GuildSettings against a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from bot.guilds import (
    ALLOWED_CHANNELS,
    BLOCKED_MEMBERS,
    BLOCKED_PATTERNS,
    BLOCKED_WORDS,
    MOD_LOG_CHANNEL,
    GuildSettings,
    Setting,
)
from bot.guilds.settings import optional_id
from testkit.backends import AnyDatabase, Backend

GUILD, OTHER, MEMBER = 111, 222, 333
MEMBER_NOTE: Setting[str | None] = Setting("note", None, lambda value: value if isinstance(value, str) else None)


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[AnyDatabase]:
    async with await backend.open() as database:
        yield database


async def test_unset_settings_read_as_their_defaults(db: AnyDatabase) -> None:
    settings = GuildSettings(db)
    assert await settings.get(GUILD, MOD_LOG_CHANNEL) is None
    assert await settings.get(GUILD, BLOCKED_WORDS) == ()
    assert await settings.get_member(GUILD, MEMBER, BLOCKED_WORDS) == ()


async def test_set_then_get_and_overwrite(db: AnyDatabase) -> None:
    settings = GuildSettings(db)
    await settings.set(GUILD, MOD_LOG_CHANNEL, 42)
    assert await settings.get(GUILD, MOD_LOG_CHANNEL) == 42
    await settings.set(GUILD, MOD_LOG_CHANNEL, 43)
    assert await settings.get(GUILD, MOD_LOG_CHANNEL) == 43
    await settings.set(GUILD, BLOCKED_WORDS, ("Gore", "gore", " spam "))
    assert await settings.get(GUILD, BLOCKED_WORDS) == ("gore", "spam")


async def test_reset_and_setting_the_default_store_nothing(db: AnyDatabase) -> None:
    settings = GuildSettings(db)
    await settings.set(GUILD, MOD_LOG_CHANNEL, 42)
    await settings.reset(GUILD, MOD_LOG_CHANNEL)
    assert await settings.get(GUILD, MOD_LOG_CHANNEL) is None
    await settings.set(GUILD, BLOCKED_WORDS, ("x",))
    await settings.set(GUILD, BLOCKED_WORDS, ())
    assert await db.fetchall("SELECT * FROM guild_settings") == []


async def test_values_that_do_not_fit_are_refused_and_nothing_is_written(db: AnyDatabase) -> None:
    settings = GuildSettings(db)
    with pytest.raises(ValueError):
        await settings.set(GUILD, MOD_LOG_CHANNEL, -5)
    with pytest.raises(ValueError):
        await settings.set(GUILD, BLOCKED_WORDS, ("",))
    assert await db.fetchall("SELECT * FROM guild_settings") == []


async def test_a_stored_value_that_no_longer_fits_reads_as_the_default(db: AnyDatabase) -> None:
    await db.transaction(
        lambda tx: tx.execute(
            "INSERT INTO guild_settings (guild_id, key, value, updated_at) "
            "VALUES (?, 'mod_log_channel', '\"x\"', '2026-01-01T00:00:00+00:00')",
            (GUILD,),
        )
    )
    assert await GuildSettings(db).get(GUILD, MOD_LOG_CHANNEL) is None


async def test_guilds_are_isolated_and_dms_are_their_own_guild(db: AnyDatabase) -> None:
    settings = GuildSettings(db)
    await settings.set(GUILD, MOD_LOG_CHANNEL, 1)
    await settings.set(OTHER, MOD_LOG_CHANNEL, 2)
    await settings.set(None, MOD_LOG_CHANNEL, 3)
    assert [await settings.get(g, MOD_LOG_CHANNEL) for g in (GUILD, OTHER, None)] == [1, 2, 3]
    await settings.reset(OTHER, MOD_LOG_CHANNEL)
    assert [await settings.get(g, MOD_LOG_CHANNEL) for g in (GUILD, OTHER, None)] == [1, None, 3]


async def test_member_values_are_per_member_per_guild_and_apart_from_the_guild(db: AnyDatabase) -> None:
    settings = GuildSettings(db)
    await settings.set_member(GUILD, MEMBER, BLOCKED_WORDS, ("cats",))
    assert await settings.get_member(GUILD, MEMBER, BLOCKED_WORDS) == ("cats",)
    assert await settings.get_member(GUILD, MEMBER + 1, BLOCKED_WORDS) == ()
    assert await settings.get_member(OTHER, MEMBER, BLOCKED_WORDS) == ()
    assert await settings.get(GUILD, BLOCKED_WORDS) == ()
    await settings.set_member(GUILD, MEMBER, BLOCKED_WORDS, ("dogs",))
    assert await settings.get_member(GUILD, MEMBER, BLOCKED_WORDS) == ("dogs",)
    await settings.reset_member(GUILD, MEMBER, BLOCKED_WORDS)
    assert await settings.get_member(GUILD, MEMBER, BLOCKED_WORDS) == ()


async def test_values_survive_reopening_the_database(backend: Backend) -> None:
    async with await backend.open() as db:
        await GuildSettings(db).set(GUILD, MOD_LOG_CHANNEL, 42)
        await GuildSettings(db).set_member(GUILD, MEMBER, BLOCKED_WORDS, ("x",))
    async with await backend.open() as db:
        assert await GuildSettings(db).get(GUILD, MOD_LOG_CHANNEL) == 42
        assert await GuildSettings(db).get_member(GUILD, MEMBER, BLOCKED_WORDS) == ("x",)


async def test_concurrent_writers_on_two_connections_lose_nothing(backend: Backend) -> None:
    async with await backend.open() as first, await backend.open() as second:
        writers = [GuildSettings(first), GuildSettings(second)]
        channel = [Setting(f"channel.{n}", None, optional_id) for n in range(40)]
        await asyncio.gather(
            *(writers[n % 2].set(GUILD, channel[n], n + 1) for n in range(40)),
            *(writers[n % 2].set_member(GUILD, n, MOD_LOG_CHANNEL, n + 1) for n in range(40)),
        )
        reader = GuildSettings(first)
        assert [await reader.get(GUILD, channel[n]) for n in range(40)] == list(range(1, 41))
        assert [await reader.get_member(GUILD, n, MOD_LOG_CHANNEL) for n in range(40)] == list(range(1, 41))
        await asyncio.gather(*(writers[n % 2].set(GUILD, MOD_LOG_CHANNEL, n + 1) for n in range(40)))
        last = await reader.get(GUILD, MOD_LOG_CHANNEL)
        assert last is not None and 1 <= last <= 40
        rows = await first.fetchall("SELECT * FROM guild_settings WHERE key = 'mod_log_channel'")
        assert len(rows) == 1


async def test_the_prompt_policy_settings_survive_reopening_the_database(backend: Backend) -> None:
    async with await backend.open() as db:
        settings = GuildSettings(db)
        await settings.set(GUILD, BLOCKED_PATTERNS, (r"Sp[a@]+M", r"\bfox\b"))
        await settings.set(GUILD, ALLOWED_CHANNELS, (7, 5, 7))
        await settings.set(GUILD, BLOCKED_MEMBERS, ((MEMBER, "spam"), (MEMBER + 1, "")))
    async with await backend.open() as db:
        values = await GuildSettings(db).values(GUILD)
        assert values.get(BLOCKED_PATTERNS) == (r"Sp[a@]+M", r"\bfox\b")  # kept as written, not lower-cased
        assert values.get(ALLOWED_CHANNELS) == (7, 5)
        assert values.get(BLOCKED_MEMBERS) == ((MEMBER, "spam"), (MEMBER + 1, ""))
        assert values.get(BLOCKED_WORDS) == ()
        assert (await GuildSettings(db).values(OTHER)).get(BLOCKED_MEMBERS) == ()


async def test_policy_values_that_do_not_fit_are_refused(db: AnyDatabase) -> None:
    settings = GuildSettings(db)
    with pytest.raises(ValueError):
        await settings.set(GUILD, ALLOWED_CHANNELS, (0,))
    with pytest.raises(ValueError):
        await settings.set(GUILD, BLOCKED_PATTERNS, (" ",))
    await db.transaction(
        lambda tx: tx.execute(
            "INSERT INTO guild_settings (guild_id, key, value, updated_at) "
            "VALUES (?, 'members.blocked', ?, '2026-01-01T00:00:00+00:00')",
            (GUILD, '{"not an id": "spam"}'),
        )
    )
    assert await settings.get(GUILD, BLOCKED_MEMBERS) == ()


async def test_update_reads_and_writes_in_one_transaction(backend: Backend) -> None:
    async with await backend.open() as first, await backend.open() as second:
        writers = [GuildSettings(first), GuildSettings(second)]

        def adding(channel: int) -> Callable[[tuple[int, ...]], tuple[int, ...]]:
            return lambda ids: (*ids, channel)

        await asyncio.gather(*(writers[n % 2].update(GUILD, ALLOWED_CHANNELS, adding(n + 1)) for n in range(30)))
        allowed: tuple[int, ...] = await writers[0].get(GUILD, ALLOWED_CHANNELS)
        assert sorted(allowed) == list(range(1, 31))
        assert await writers[0].update(GUILD, ALLOWED_CHANNELS, lambda ids: ()) == ()
        assert await first.fetchall("SELECT * FROM guild_settings") == []


async def test_an_update_that_raises_changes_nothing(db: AnyDatabase) -> None:
    settings = GuildSettings(db)
    await settings.set(GUILD, ALLOWED_CHANNELS, (1,))

    def refuse(ids: tuple[int, ...]) -> tuple[int, ...]:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        await settings.update(GUILD, ALLOWED_CHANNELS, refuse)
    assert await settings.get(GUILD, ALLOWED_CHANNELS) == (1,)


class CountingReads:
    """The real database, counting the reads that reach it."""

    def __init__(self, db: AnyDatabase) -> None:
        self.db, self.reads = db, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)

    async def read(self, fn: Callable[..., object]) -> object:
        self.reads += 1
        return await self.db.read(fn)


async def test_a_guilds_values_are_read_once_and_every_write_here_is_seen(db: AnyDatabase) -> None:
    storage = CountingReads(db)
    # the real AnyDatabase behind a counter; a clock that stands still: no second look at the generation
    settings = GuildSettings(storage, ticks=lambda: 0.0)  # type: ignore[arg-type]
    assert (await settings.values(GUILD)).get(MOD_LOG_CHANNEL) is None
    assert (await settings.values(GUILD)).get(MOD_LOG_CHANNEL) is None
    assert storage.reads == 2  # the generation and the values; every /imagine reads them: once is enough
    await settings.set(GUILD, MOD_LOG_CHANNEL, 42)
    assert (await settings.values(GUILD)).get(MOD_LOG_CHANNEL) == 42
    await settings.update(GUILD, BLOCKED_WORDS, lambda words: (*words, "gore"))
    assert (await settings.values(GUILD)).get(BLOCKED_WORDS) == ("gore",)
    await settings.reset(GUILD, MOD_LOG_CHANNEL)
    assert (await settings.values(GUILD)).get(MOD_LOG_CHANNEL) is None
    assert (await settings.values(OTHER)).get(BLOCKED_WORDS) == ()  # each guild its own


async def test_a_members_values_are_read_once_and_every_write_here_is_seen(db: AnyDatabase) -> None:
    storage = CountingReads(db)
    settings = GuildSettings(storage, ticks=lambda: 0.0)  # type: ignore[arg-type]
    assert (await settings.member_values(GUILD, MEMBER)).get(MEMBER_NOTE) is None  # nothing set: kept too
    assert await settings.get_member(GUILD, MEMBER, MEMBER_NOTE) is None
    assert storage.reads == 2  # the generations and the values; every /imagine reads them: once is enough
    await settings.set_member(GUILD, MEMBER, MEMBER_NOTE, "hello")
    assert await settings.get_member(GUILD, MEMBER, MEMBER_NOTE) == "hello"
    assert await settings.get_member(OTHER, MEMBER, MEMBER_NOTE) is None  # each guild its own
    await settings.reset_member(GUILD, MEMBER, MEMBER_NOTE)
    assert await settings.get_member(GUILD, MEMBER, MEMBER_NOTE) is None
    assert await first_generation(db) == 2  # one per member write


async def first_generation(db: AnyDatabase) -> int:
    return await db.read(lambda tx: tx.generations.get("member_settings"))


async def test_a_member_read_racing_a_write_never_keeps_the_old_values(db: AnyDatabase) -> None:
    settings = GuildSettings(db)
    for n in range(1, 20):
        reading = asyncio.ensure_future(settings.member_values(GUILD, MEMBER))  # before, during or after the write
        await settings.set_member(GUILD, MEMBER, MEMBER_NOTE, f"note {n}")
        await reading
        assert await settings.get_member(GUILD, MEMBER, MEMBER_NOTE) == f"note {n}"


async def test_a_read_racing_a_write_never_keeps_the_old_values(db: AnyDatabase) -> None:
    settings = GuildSettings(db)
    for n in range(1, 30):
        reading = asyncio.ensure_future(settings.values(GUILD))  # queued before, during or after the write
        await settings.set(GUILD, MOD_LOG_CHANNEL, n)
        await reading
        assert (await settings.values(GUILD)).get(MOD_LOG_CHANNEL) == n


async def test_another_process_write_is_seen_within_the_check_interval(backend: Backend) -> None:
    """Two storage instances on one database, as two bot processes are; the clock is moved by hand."""
    now = [0.0]
    async with await backend.open() as first, await backend.open() as second:
        here, there = GuildSettings(first), GuildSettings(second, ticks=lambda: now[0], check_every=1.0)
        assert (await there.values(GUILD)).get(BLOCKED_WORDS) == ()
        await here.set(GUILD, BLOCKED_WORDS, ("gore",))
        now[0] = 0.9
        assert (await there.values(GUILD)).get(BLOCKED_WORDS) == ()  # kept: looked less than a second ago
        now[0] = 1.0
        assert (await there.values(GUILD)).get(BLOCKED_WORDS) == ("gore",)  # the generation moved: read again
        await here.update(GUILD, BLOCKED_WORDS, lambda words: (*words, "spam"))
        await here.reset(GUILD, MOD_LOG_CHANNEL)
        now[0] = 2.5
        assert (await there.values(GUILD)).get(BLOCKED_WORDS) == ("gore", "spam")
        assert (await there.values(OTHER)).get(BLOCKED_WORDS) == ()
        assert await first.read(lambda tx: tx.generations.get("guild_settings")) == 3  # one per write
