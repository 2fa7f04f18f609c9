"""A running playground for tests: fake Discord with the playground's guild, the real bot, the page's server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bot.app.client import EggBot
from bot.playground import PlaygroundServer, PlaygroundWorld, build_playground
from testkit.fake_discord import FakeDiscord
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter
from testkit.world import World


@dataclass
class Playground:
    """Everything a playground test touches."""

    world: PlaygroundWorld
    eggapi: FakeEggAPI
    bot: EggBot
    server: PlaygroundServer

    @property
    def fake(self) -> FakeDiscord:
        """The fake Discord."""
        return self.world.fake


@contextlib.asynccontextmanager
async def running_playground(tmp_path: Path) -> AsyncIterator[Playground]:
    """The playground as ``python -m bot playground`` runs it, but with the tests' FakeEggAPI and timings."""
    async with FakeDiscord() as fake, FakeEggAPI() as eggapi:
        world = build_playground(fake)
        general = world.channels[0]
        # BotStarter only needs the fake from its World; the playground's own channels stand in.
        test_world = World(fake, world.guild, general, general, world.member("alice"), world.member("bob"))
        async with BotStarter(tmp_path, test_world, eggapi) as start_bot:
            bot = await start_bot()
            await fake.wait_for(lambda f: f.sync_count >= 1)
            server = await PlaygroundServer.start(world)
            try:
                yield Playground(world, eggapi, bot, server)
            finally:
                await server.stop()
