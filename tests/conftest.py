"""Shared fixtures: a fake Discord world, a fake EggAPI, and a way to run (and restart) the real bot."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app.client import EggBot
from bot.db import Database
from bot.eggapi import EggAPIClient
from bot.settings import Settings, load_settings
from testkit.fake_discord import FakeChannel, FakeDiscord, FakeGuild, FakeMember, run_bot
from testkit.fake_eggapi import DEFAULT_API_KEY, FakeEggAPI

# Fast timings so the suite waits on events, not on the bot's production intervals.
FAST = {
    "EGGBOT_POLL_INTERVAL_MIN": "0.02",
    "EGGBOT_POLL_INTERVAL_MAX": "0.1",
    "EGGBOT_STATUS_EDIT_INTERVAL": "0.05",
    "EGGBOT_TASK_DEADLINE": "60",
    "EGGBOT_HTTP_TIMEOUT": "5",
}


@dataclass
class World:
    """A guild with a text channel, a thread and two ordinary members."""

    fake: FakeDiscord
    guild: FakeGuild
    general: FakeChannel
    thread: FakeChannel
    alice: FakeMember
    bob: FakeMember


@pytest.fixture
async def eggapi() -> AsyncIterator[FakeEggAPI]:
    """A running fake EggAPI."""
    async with FakeEggAPI() as fake:
        yield fake


@pytest.fixture
async def world() -> AsyncIterator[World]:
    """A running fake Discord with one guild."""
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Egg Lovers")
        general = fake.add_channel(guild, "general")
        thread = fake.add_thread(general, "fox pictures")
        alice = fake.add_member(guild, "alice")
        bob = fake.add_member(guild, "bob")
        yield World(fake, guild, general, thread, alice, bob)


def make_settings(tmp_path: Path, eggapi_url: str, **overrides: str) -> Settings:
    """Settings as an operator would write them, pointed at the fakes."""
    env = {
        "DISCORD_TOKEN": "fake-token",
        "EGGAPI_API_KEY": DEFAULT_API_KEY,
        "EGGAPI_BASE_URL": eggapi_url,
        "DATABASE_PATH": str(tmp_path / "eggbot.db"),
        **FAST,
        **overrides,
    }
    return load_settings(env)


StartBot = Callable[..., Awaitable[EggBot]]


@dataclass
class Running:
    """Handles to stop the bot that ``start_bot`` started."""

    stack: contextlib.AsyncExitStack
    bot: EggBot


@pytest.fixture
async def start_bot(tmp_path: Path, world: World, eggapi: FakeEggAPI) -> AsyncIterator[Any]:
    """``bot = await start_bot(**env_overrides)``; ``await start_bot.stop()`` stops it (the database stays)."""

    class Starter:
        def __init__(self) -> None:
            self.running: Running | None = None

        async def __call__(self, *, api_key: str | None = None, force_sync: bool = False, **env: str) -> EggBot:
            assert self.running is None, "stop the running bot first"
            settings = make_settings(tmp_path, eggapi.url, **env)
            stack = contextlib.AsyncExitStack()
            db = await stack.enter_async_context(await Database.open(settings.database_path))
            session = await stack.enter_async_context(aiohttp.ClientSession())
            client = EggAPIClient(
                session, api_key=api_key or settings.eggapi_api_key, base_url=settings.eggapi_base_url,
                timeout=settings.http_timeout, backoff_base=0.01, backoff_cap=0.05,
            )
            bot = EggBot(settings=settings, db=db, http_session=session, eggapi=client, force_sync=force_sync,
                         clock=lambda: datetime.fromtimestamp(world.fake.clock.now(), UTC))  # Discord's time
            await stack.enter_async_context(run_bot(bot, world.fake))
            self.running = Running(stack, bot)
            return bot

        async def stop(self) -> None:
            if self.running is not None:
                running, self.running = self.running, None
                await running.stack.aclose()

    starter = Starter()
    try:
        yield starter
    finally:
        await starter.stop()
