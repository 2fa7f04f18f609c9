"""Running the Discord side: resources → core → EggBot, as discord.py's ``advanced_startup`` example.

``python -m bot`` calls ``run_discord``; the benchmark's bot process uses ``point_discord_at``
and ``bot.services`` the same way.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from bot.app.client import EggBot
from bot.services import build_core, open_resources
from bot.settings import Settings
from bot.storage import StorageUnavailable

log = logging.getLogger("bot")


def point_discord_at(settings: Settings) -> None:
    """Apply the optional REST and gateway overrides (used to run against a local fake Discord)."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


async def main(settings: Settings, *, sync_only: bool = False) -> int:
    """Run the bot until SIGTERM or SIGINT (or only sync its commands); returns the exit status."""
    if sync_only:
        point_discord_at(settings)
        async with open_resources(settings) as resources:
            bot = EggBot(core=build_core(settings, resources), force_sync=True, run_tracker=False)
            async with bot:
                await bot.login(settings.discord_token)  # setup_hook syncs (forced)
                log.info("commands synced")
                return 0
    stop = asyncio.Event()
    stop_on_signals(stop)
    return await serve(settings, stop)


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and Ctrl-C set ``stop``: the bot then finishes in-flight work and closes cleanly."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)


async def serve(settings: Settings, stop: asyncio.Event, *, ready: asyncio.Event | None = None) -> int:
    """Open the resources, build the bot and run it until ``stop`` is set; returns the exit status.

    ``ready`` is set once the bot is logged in and has its servers. It also stops by itself, with
    status 1, when EggAPI refuses the key: nothing could be made.
    """
    point_discord_at(settings)
    async with open_resources(settings) as resources:
        bot = EggBot(core=build_core(settings, resources), freeze_startup_objects=True)
        async with bot:
            runner = asyncio.create_task(bot.start(settings.discord_token), name="eggbot-discord")
            stopper = asyncio.create_task(stop.wait(), name="eggbot-stop")
            refused = asyncio.create_task(bot.prices.key_refused.wait(), name="eggbot-key-check")
            if ready is not None:
                announced = asyncio.create_task(_announce(bot, ready), name="eggbot-ready")
            done, _ = await asyncio.wait({runner, stopper, refused}, return_when=asyncio.FIRST_COMPLETED)
            if stopper in done:
                log.info("stop requested; finishing in-flight work")
                await bot.close()
            elif refused in done:
                log.info("stopping: nothing can be made without a working EggAPI key")
                await bot.close()
            stopper.cancel()
            refused.cancel()
            if ready is not None:
                announced.cancel()
            await runner
            return 1 if refused in done else 0


async def _announce(bot: EggBot, ready: asyncio.Event) -> None:
    await bot.wait_until_ready()
    ready.set()


def run_discord(settings: Settings, *, sync_only: bool = False) -> int:
    """Run the bot until it is stopped; the process's exit status, with a plain line for what went wrong."""
    try:
        return asyncio.run(main(settings, sync_only=sync_only))
    except discord.LoginFailure:
        log.error("Discord refused DISCORD_TOKEN; check it in the developer portal")
        return 1
    except aiohttp.ClientConnectorError as exc:
        log.error(
            "cannot reach Discord at %s:%s (%s); check the network and try again",
            exc.host,
            exc.port,
            exc.os_error.strerror or exc.os_error,
        )
        return 1
    except StorageUnavailable as exc:
        log.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        return 0
