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

log = logging.getLogger("bot")


def point_discord_at(settings: Settings) -> None:
    """Apply the optional REST and gateway overrides (used to run against a local fake Discord)."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


async def main(settings: Settings, *, sync_only: bool = False) -> int:
    """Open the resources, build the bot and run it until it is stopped; returns the exit status."""
    point_discord_at(settings)
    async with open_resources(settings) as resources:
        bot = EggBot(
            core=build_core(settings, resources),
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
    except KeyboardInterrupt:
        return 0
