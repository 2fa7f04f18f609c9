"""The real bot in this process, against the fakes: ``bot = await start_bot(**env)``, restartable."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from bot.app.client import EggBot
from bot.eggapi import EggAPIClient, RequestBudget
from bot.services import Resources, build_core, new_metrics, open_storage, session_traces
from bot.settings import Settings
from bot.storage.postgres import PostgresDatabase
from bot.storage.sqlite import Database

from .backends import AnyDatabase
from .fake_discord import run_bot
from .fake_eggapi import FakeEggAPI
from .settings import make_settings
from .world import World


@dataclass
class Running:
    """What stops the bot that a ``BotStarter`` started: its resources, closed in reverse order."""

    stack: contextlib.AsyncExitStack
    bot: EggBot


class BotStarter:
    """``bot = await start_bot(**env_overrides)``; ``await start_bot.stop()`` stops it (the database stays).

    One bot at a time, so a test can stop and start again on the same database, as after a restart.
    ``extensions`` replaces the bot's default cogs; ``discord_time`` gives the bot the fake
    Discord's clock, so timestamps the bot writes and those the fake stamps agree.
    ``database`` is the database settings of every start, below what the start names itself: the
    ``on_each_backend`` fixture fills it with the test's database on its backend, so a restart
    reuses that database.
    """

    def __init__(
        self,
        tmp_path: Path,
        world: World,
        eggapi: FakeEggAPI,
        *,
        extensions: Sequence[str] | None = None,
        discord_time: bool = True,
        database: Mapping[str, str] | None = None,
    ) -> None:
        self.tmp_path = tmp_path
        self.world = world
        self.eggapi = eggapi
        self.extensions = extensions
        self.discord_time = discord_time
        self.database = database if database is not None else {}
        self.running: Running | None = None

    @property
    def db_path(self) -> Path:
        """Where the bot keeps its database (there before the first start, if a test seeds it)."""
        return make_settings(self.tmp_path, self.eggapi.url).database_path

    async def __call__(
        self, *, api_key: str | None = None, force_sync: bool = False, paced_identify: bool = False, **env: str
    ) -> EggBot:
        """Start the bot; ``paced_identify`` keeps its own ``before_identify_hook`` (the harness's is instant)."""
        assert self.running is None, "stop the running bot first"
        settings = make_settings(self.tmp_path, self.eggapi.url, **{**self.database, **env})
        stack = contextlib.AsyncExitStack()
        bot = await self._build(stack, settings, api_key=api_key, force_sync=force_sync)
        await stack.enter_async_context(run_bot(bot, self.world.fake, fast_reidentify=not paced_identify))
        self.running = Running(stack, bot)
        return bot

    async def _build(
        self, stack: contextlib.AsyncExitStack, settings: Settings, *, api_key: str | None, force_sync: bool
    ) -> EggBot:
        """The bot and what it holds, as ``python -m bot`` builds them, but with short EggAPI backoffs."""
        db = await open_storage(settings)  # SQLite at DATABASE_PATH, or PostgreSQL when DATABASE_URL is set
        stack.push_async_callback(db.close)
        metrics = new_metrics(settings)
        session = await stack.enter_async_context(aiohttp.ClientSession(trace_configs=session_traces(metrics)))
        client = EggAPIClient(
            session,
            api_key=api_key or settings.eggapi_api_key,
            base_url=settings.eggapi_base_url,
            timeout=settings.http_timeout,
            backoff_base=0.01,
            backoff_cap=0.05,
            budget=RequestBudget(settings.eggapi_rps, backoff=0.01, backoff_cap=0.05),
        )
        resources = Resources(db, session, client, metrics)
        if self.discord_time:
            core = build_core(settings, resources, clock=self.discord_clock)
        else:
            core = build_core(settings, resources)
        options: dict[str, Any] = {}  # only what this starter sets; the bot's own defaults stand for the rest
        if self.extensions is not None:
            options["extensions"] = self.extensions
        return EggBot(core=core, force_sync=force_sync, **options)

    def discord_clock(self) -> datetime:
        """The fake Discord's time, as an aware datetime."""
        return datetime.fromtimestamp(self.world.fake.clock.now(), UTC)

    async def stop(self) -> None:
        """Stop the running bot, if any, and close what it held."""
        if self.running is not None:
            running, self.running = self.running, None
            await running.stack.aclose()

    async def __aenter__(self) -> BotStarter:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def sqlite_db(bot: EggBot) -> Database:
    """The bot's database as the SQLite backend it is in these tests (for raw SQL and its path)."""
    assert isinstance(bot.db, Database), "these tests run on SQLite"
    return bot.db


def any_db(bot: EggBot) -> AnyDatabase:
    """The bot's database on whichever backend it runs (raw SQL with ``?`` placeholders works on both)."""
    assert isinstance(bot.db, Database | PostgresDatabase), f"an unexpected backend: {type(bot.db).__name__}"
    return bot.db
