"""Two bot processes' worth of EggBot on two shards of one fake Discord and one database.

Each answers only its own shard's servers; only the one with shard 0 syncs the commands; and their
IDENTIFYs take turns through the shared database, so Discord's pacing (which the fake enforces
with op 9) refuses none of them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import discord.http
import pytest

from testkit.fake_discord import FakeGuild
from testkit.fake_discord.sharding import shard_of
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter
from testkit.world import World

pytestmark = pytest.mark.timeout(60)

PACE = 0.2  # seconds the fake wants between IDENTIFYs of one bucket; the bots space theirs five times that
# (as the default 5.5 s leaves room over Discord's 5 s for the time an IDENTIFY takes to arrive: here, on
# a loaded machine, the first bot's IDENTIFY may leave late while the second's timer is on time)


def other_shard_guild(world: World) -> tuple[FakeGuild, int]:
    """A second server on the other shard of two, with alice in it; returns it and the first's shard."""
    first = shard_of(world.guild.id, 2)
    guild = world.fake.add_guild("Other", shard=(1 - first, 2))
    world.fake.add_channel(guild, "general")
    world.fake.add_member(guild, world.alice.user)
    return guild, first


async def test_two_shards_answer_their_own_servers_and_take_turns_to_connect(
    tmp_path: Path, world: World, eggapi: FakeEggAPI
) -> None:
    fake = world.fake
    other, first = other_shard_guild(world)
    fake.gateway.pacer.interval = PACE
    async with BotStarter(tmp_path, world, eggapi) as zero, BotStarter(tmp_path, world, eggapi) as one:
        bot0, bot1 = await asyncio.gather(
            zero(
                paced_identify=True,
                EGGBOT_SHARD_IDS="0",
                EGGBOT_SHARD_COUNT="2",
                EGGBOT_IDENTIFY_INTERVAL=str(5 * PACE),
            ),
            one(
                paced_identify=True,
                EGGBOT_SHARD_IDS="1",
                EGGBOT_SHARD_COUNT="2",
                EGGBOT_IDENTIFY_INTERVAL=str(5 * PACE),
            ),
        )
        assert fake.gateway.pacer.refused == 0
        by_shard = {first: world.guild.id, 1 - first: other.id}
        assert [g.id for g in bot0.guilds] == [by_shard[0]]
        assert [g.id for g in bot1.guilds] == [by_shard[1]]
        assert fake.sync_count == 1 and bot0.syncs_commands and not bot1.syncs_commands

        general = next(c for c in other.channels.values() if c.name == "general")
        for channel in (world.general, general):
            handle = await fake.slash(world.alice, channel, "balance")
            answer = await handle.wait_response()
            assert "left" in answer.content or "limit" in answer.content.lower(), answer.content
        identifies = [f["d"]["shard"] for f in fake.gateway.received if f.get("op") == 2]
        assert sorted(identifies) == [[0, 2], [1, 2]]
    # Both bots pointed discord.py at the fake and stopped in either order: its own addresses are back.
    assert discord.http.Route.BASE == "https://discord.com/api/v10"
