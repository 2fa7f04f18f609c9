"""Composition root: ``python -m bot`` runs the bot, ``python -m bot sync`` forces a command sync.

Settings → logging → database → HTTP session → EggAPI client → EggBot, then
``async with bot: await bot.start(token)`` as in discord.py's ``advanced_startup`` example.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from dotenv import find_dotenv, load_dotenv

from bot import logs
from bot.app.client import EggBot
from bot.eggapi import EggAPIClient
from bot.money import format_money
from bot.resources import http_client
from bot.settings import Settings, SettingsError, load_settings, settings_warnings
from bot.storage.sqlite import Database
from bot.unconfirmed import cli as operator_cli

log = logging.getLogger("bot")

USAGE = "usage: python -m bot [run | sync | unconfirmed [adopt TASK EGG_TASK_ID | release TASK [--force]]]"


SWITCH_INTERVAL = 0.001  # seconds; CPython's default is 0.005


def tune_interpreter() -> None:
    """Hand the GIL over sooner: the database thread's short jobs then wait less behind a busy event loop.

    Every database change is one function on aiosqlite's thread (``bot.storage.sqlite``); with the default
    5 ms switch interval a burst of commands kept it waiting for the GIL. Measured with
    ``python -m bench --scenarios ack``: ack p99 at 50 concurrent 42 -> 38 ms on average.
    """
    sys.setswitchinterval(SWITCH_INTERVAL)


def configure_logging(level: str) -> None:
    """One plain stream handler on the root logger (no colour codes in files or containers).

    Its filters (``bot.logs``) see every record of every logger, asyncio's and discord.py's too.
    """
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)-8s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:
        logs.install(handler)
    logging.getLogger("discord.client").addFilter(_without_voice_warnings)


def _without_voice_warnings(record: logging.LogRecord) -> bool:
    """Drop discord.py's "PyNaCl/davey is not installed, voice will NOT be supported": the bot has no voice."""
    return "voice will NOT be supported" not in record.getMessage()


def starting_line(settings: Settings) -> str:
    """What this process is about to do, in words (no secrets; not a dump of every setting)."""
    if settings.webhook_public_url:
        # Scheme, host and path only: a query string may carry a token of the operator's proxy.
        address = urlsplit(settings.webhook_public_url)._replace(query="", fragment="").geturl()
        webhooks = f"webhooks at {address} ({'signed' if settings.webhook_secret else 'unsigned'})"
    else:
        webhooks = "webhooks off"
    return (
        f"starting: EggAPI at {settings.eggapi_base_url}, database {settings.database_path}, default limit "
        f"{format_money(settings.quota_limit)} per member per {settings.quota_period} ({settings.quota_timezone}), "
        f"{webhooks}"
    )


def point_discord_at(settings: Settings) -> None:
    """Apply the optional REST and gateway overrides (used to run against a local fake Discord)."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[tuple[Database, aiohttp.ClientSession, EggAPIClient]]:
    """The database (created and migrated as needed), the HTTP session and the EggAPI client."""
    point_discord_at(settings)
    db = await Database.open(settings.database_path)
    try:
        async with http_client(settings) as (session, eggapi):
            yield db, session, eggapi
    finally:
        await db.close()


async def main(settings: Settings, *, sync_only: bool = False) -> int:
    """Open the resources, build the bot and run it until it is stopped; returns the exit status."""
    async with resources(settings) as (db, session, eggapi):
        bot = EggBot(
            settings=settings,
            db=db,
            http_session=session,
            eggapi=eggapi,
            force_sync=sync_only,
            run_tracker=not sync_only,
            freeze_startup_objects=not sync_only,
        )
        async with bot:
            if sync_only:
                await bot.login(settings.discord_token)  # setup_hook syncs (forced)
                log.info("commands synced")
                return 0
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            runner = asyncio.create_task(bot.start(settings.discord_token), name="eggbot-discord")
            stopper = asyncio.create_task(stop.wait(), name="eggbot-stop")
            refused = asyncio.create_task(bot.prices.key_refused.wait(), name="eggbot-key-check")
            done, _ = await asyncio.wait({runner, stopper, refused}, return_when=asyncio.FIRST_COMPLETED)
            if stopper in done:
                log.info("stop requested; finishing in-flight work")
                await bot.close()
            elif refused in done:
                log.info("stopping: nothing can be made without a working EggAPI key")
                await bot.close()
            stopper.cancel()
            refused.cancel()
            await runner
            return 1 if refused in done else 0


def run(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    operator = operator_cli.parse(args[1:]) if args[:1] == ["unconfirmed"] else None
    if args not in ([], ["run"], ["sync"]) and operator is None:
        print(USAGE, file=sys.stderr)
        return 2
    load_dotenv(find_dotenv(usecwd=True))
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        print(f"eggbot: {exc}", file=sys.stderr)
        return 2
    for name, problem in settings_warnings(settings):
        print(f"eggbot: warning: {name}: {problem}; starting anyway", file=sys.stderr)
    configure_logging(settings.log_level)
    tune_interpreter()
    if operator is not None:
        return asyncio.run(operator_cli.unconfirmed(settings, operator))
    log.info("%s", starting_line(settings))
    try:
        return asyncio.run(main(settings, sync_only=args == ["sync"]))
    except discord.LoginFailure:
        log.error("Discord refused DISCORD_TOKEN; check it in the developer portal")
        return 1
    except aiohttp.ClientConnectorError as exc:
        log.error("cannot reach Discord at %s:%s (%s); check the network and try again", exc.host, exc.port,
                  exc.os_error.strerror or exc.os_error)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(run())
