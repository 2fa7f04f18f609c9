"""The fake Discord shards as Discord does, proven with discord.py's real AutoShardedBot.

Guild events reach only the shard ``(guild_id >> 22) % n``; DMs reach shard 0; ``GET /gateway/bot``
recommends the shard count; bad shards and IDENTIFYs faster than ``max_concurrency`` allows are refused.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import aiohttp
import discord
import pytest
from discord.ext import commands

from testkit.fake_discord import FakeDiscord, FakeGuild, assert_clean, run_bot
from testkit.fake_discord.sharding import shard_of

pytestmark = pytest.mark.timeout(30)


class ShardBot(commands.AutoShardedBot):
    """Answers /where with the shard that received the interaction."""

    def __init__(self, shard_ids: Sequence[int] | None, shard_count: int | None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            shard_count=shard_count,
            shard_ids=cast("list[int]", None if shard_ids is None else list(shard_ids)),  # stub: no None
            guild_ready_timeout=0.05,
            help_command=None,
        )

        @self.tree.command(name="where", description="Which shard answers")
        async def where(interaction: discord.Interaction) -> None:
            shard = interaction.guild.shard_id if interaction.guild else 0
            await interaction.response.send_message(f"shard {shard} of {self.shard_count}")

    async def setup_hook(self) -> None:
        if 0 in (self.shard_ids or [0]):
            await self.tree.sync()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.gateway.pacer.interval = 0.0  # bots in this file: no pacing (the pacer has its own test)
        yield fake


def two_guilds(fake: FakeDiscord) -> tuple[FakeGuild, FakeGuild]:
    first, second = fake.add_guild("Zero", shard=(0, 2)), fake.add_guild("One", shard=(1, 2))
    alice = fake.add_user("alice")
    for guild in (first, second):
        fake.add_channel(guild, "general")
        fake.add_member(guild, alice)
    return first, second


def general(guild: FakeGuild) -> Any:
    return next(c for c in guild.channels.values() if c.name == "general")


async def test_each_process_sees_only_its_shards_guilds_and_answers_their_commands(fake: FakeDiscord) -> None:
    zero, one = two_guilds(fake)
    assert (shard_of(zero.id, 2), shard_of(one.id, 2)) == (0, 1)
    async with run_bot(ShardBot([0], 2), fake) as bot0, run_bot(ShardBot([1], 2), fake) as bot1:
        await fake.wait_for(lambda f: f.sync_count >= 1)
        assert [g.id for g in bot0.guilds] == [zero.id]
        assert [g.id for g in bot1.guilds] == [one.id]

        alice = next(m for m in zero.members.values() if m.username == "alice")
        for guild, shard in ((zero, 0), (one, 1)):
            handle = await fake.slash(alice, general(guild), "where")
            message = await handle.wait_response()
            assert message.content == f"shard {shard} of 2"

        dm = fake.dm_channel_for(alice)
        handle = await fake.slash(alice, dm, "where")
        assert (await handle.wait_response()).content == "shard 0 of 2"
        identifies = [frame["d"]["shard"] for frame in fake.gateway.received if frame.get("op") == 2]
        assert sorted(identifies) == [[0, 2], [1, 2]]
    assert_clean(fake)


async def test_a_guild_added_later_reaches_only_its_shard(fake: FakeDiscord) -> None:
    two_guilds(fake)
    async with run_bot(ShardBot([0], 2), fake) as bot0, run_bot(ShardBot([1], 2), fake) as bot1:
        late = fake.add_guild("Late", shard=(1, 2))
        await fake.settle()
        await fake.wait_for(lambda f: bot1.get_guild(late.id) is not None)
        assert bot0.get_guild(late.id) is None


async def test_without_a_shard_count_the_bot_follows_gateway_bot(fake: FakeDiscord) -> None:
    zero, one = two_guilds(fake)
    fake.recommended_shards = 2
    async with run_bot(ShardBot(None, None), fake) as bot:
        assert bot.shard_count == 2
        assert sorted(g.id for g in bot.guilds) == sorted([zero.id, one.id])
        assert {bot.get_guild(zero.id).shard_id, bot.get_guild(one.id).shard_id} == {0, 1}  # type: ignore[union-attr]
    assert any(r.route == "GET /gateway/bot" for r in fake.requests)


async def _identify(fake: FakeDiscord, session: aiohttp.ClientSession, shard: Any) -> tuple[str, Any]:
    """A raw IDENTIFY; returns ("close", code) or ("op", first frame's op after HELLO)."""
    async with session.ws_connect(fake.ws_url) as ws:
        hello = json.loads((await ws.receive()).data)
        assert hello["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 1, "properties": {}, "shard": shard}})
        reply = await ws.receive()
        if reply.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            return "close", ws.close_code
        return "op", json.loads(reply.data)["op"]


async def test_invalid_shards_are_refused_and_identify_is_paced(fake: FakeDiscord) -> None:
    fake.gateway.pacer.interval = 60.0  # Discord: 5 s; long enough that nothing here outlasts it
    async with aiohttp.ClientSession() as session:
        assert await _identify(fake, session, [2, 2]) == ("close", 4010)
        assert await _identify(fake, session, [0, 2]) == ("op", 0)  # READY
        assert await _identify(fake, session, [1, 2]) == ("op", 9)  # same bucket, too soon
        fake.gateway.pacer.max_concurrency = 2
        assert await _identify(fake, session, [1, 2]) == ("op", 0)  # its own bucket now
    assert fake.gateway.pacer.refused == 1


async def test_gateway_bot_matches_the_spec(fake: FakeDiscord) -> None:
    for index in range(3):
        fake.add_guild(f"g{index}")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as session:
        async with session.get(f"{fake.api_base}/gateway/bot") as response:
            body = await response.json()
    assert body["url"] == fake.ws_url and body["shards"] == 1
    assert set(body["session_start_limit"]) == {"total", "remaining", "reset_after", "max_concurrency"}
    assert fake.violations == []
