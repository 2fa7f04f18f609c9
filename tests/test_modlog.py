"""The mod-log's batching, splitting and bounding, with a recording port (plain values, no Discord)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bot.errors import PolicyRefusal
from bot.guilds import MOD_LOG_CHANNEL, GuildSettings, Setting
from bot.lifecycle.model import ImagineRequest
from bot.modlog import (
    MAX_POST_CHARS,
    EventsDropped,
    JobRefused,
    ModLog,
    ModLogEvent,
    ModLogUnavailable,
    SettingChanged,
    pack,
)

GUILD, MODS, OTHER = 1, 100, 200


class Settings:
    """Just the mod-log channel, per guild."""

    def __init__(self) -> None:
        self.channels: dict[int, int | None] = {GUILD: MODS}

    async def get(self, guild_id: int, setting: Setting[Any]) -> Any:
        assert setting is MOD_LOG_CHANNEL
        return self.channels.get(guild_id)

    async def set(self, guild_id: int, setting: Setting[Any], value: Any) -> None:
        self.channels[guild_id] = value


class Port:
    """Records posts; ``refuse`` makes them fail as a channel closed to the bot."""

    def __init__(self) -> None:
        self.posts: list[tuple[int, str]] = []
        self.refuse = False

    def line(self, guild_id: int, event: ModLogEvent) -> str:
        if isinstance(event, EventsDropped):
            return f"dropped {event.count}"
        if isinstance(event, JobRefused):
            return f"refused {event.member_id} for {event.rule}: {event.prompt}"
        assert isinstance(event, SettingChanged)
        return f"{event.what}: {event.before} -> {event.after}"

    async def post_modlog(self, channel_id: int, text: str) -> None:
        if self.refuse:
            raise ModLogUnavailable("I lack permission there")
        self.posts.append((channel_id, text))


def change(n: int, width: int = 0) -> SettingChanged:
    return SettingChanged(7, f"thing {n}", "a" * width, "b")


def modlog(**options: Any) -> tuple[ModLog, Port, Settings]:
    settings, port = Settings(), Port()
    log = ModLog(cast(GuildSettings, settings), window=0.01, **options)
    log.attach(port)
    return log, port, settings


async def test_what_arrives_together_is_one_post() -> None:
    log, port, _ = modlog()
    for n in range(30):
        log.record(GUILD, change(n))
    await log.flush(5)
    assert len(port.posts) == 1
    channel, text = port.posts[0]
    assert channel == MODS and text.splitlines() == [f"thing {n}:  -> b" for n in range(30)]


async def test_long_batches_are_split_under_the_message_limit_in_order() -> None:
    log, port, _ = modlog()
    for n in range(40):
        log.record(GUILD, change(n, width=150))
    await log.flush(5)
    assert len(port.posts) == 4  # 40 lines of ~165 characters: 12 fit in 2,000
    assert all(len(text) <= MAX_POST_CHARS for _, text in port.posts)
    lines = [line for _, text in port.posts for line in text.splitlines()]
    assert [line.split(":")[0] for line in lines] == [f"thing {n}" for n in range(40)]


def test_a_line_longer_than_a_message_is_cut() -> None:
    [post] = pack(["x" * 5000])
    assert len(post) == MAX_POST_CHARS and post.endswith("…")


async def test_an_overflowing_queue_drops_the_oldest_and_says_how_many() -> None:
    settings, port = Settings(), Port()
    log = ModLog(cast(GuildSettings, settings), window=0.01, max_queued=5)
    for n in range(8):
        log.record(GUILD, change(n))  # before the chat side is attached: queued only
    log.attach(port)
    await log.flush(5)
    [(_, text)] = port.posts
    assert text.splitlines() == ["dropped 3", *(f"thing {n}:  -> b" for n in range(3, 8))]


async def test_a_closed_channel_is_reported_once_and_not_retried_until_changed() -> None:
    log, port, settings = modlog()
    port.refuse = True
    log.record(GUILD, change(1))
    await log.flush(5)
    outage = log.take_outage(GUILD)
    assert outage is not None and outage.channel_id == MODS and "permission" in outage.reason
    assert log.take_outage(GUILD) is None  # told once
    port.refuse = False
    log.record(GUILD, change(2))
    await log.flush(5)
    assert port.posts == []  # not tried again for that channel
    await log.set_channel(GUILD, OTHER)
    log.record(GUILD, change(3))
    await log.flush(5)
    assert port.posts == [(OTHER, "thing 3:  -> b")]
    assert settings.channels[GUILD] == OTHER and log.outage(GUILD) is None


async def test_nothing_is_posted_without_a_channel_and_dms_have_no_log() -> None:
    log, port, settings = modlog()
    settings.channels[GUILD] = None
    log.record(GUILD, change(1))
    log.record(None, change(2))
    await log.flush(5)
    assert port.posts == []


async def test_a_refusal_is_recorded_and_still_raised() -> None:
    log, port, _ = modlog()

    async def refuse(request: ImagineRequest) -> None:
        error = PolicyRefusal("no")
        error.rule = "the blocked term `gore` in the prompt"
        raise error

    request = ImagineRequest(guild_id=GUILD, channel_id=5, member_id=9, prompt="a gore fox")
    with pytest.raises(PolicyRefusal):
        await log.watch(refuse)(request)
    await log.flush(5)
    assert port.posts == [(MODS, "refused 9 for the blocked term `gore` in the prompt: a gore fox")]
