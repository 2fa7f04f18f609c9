"""One playground session: the embedded servers, the real bot, the page; until Ctrl-C.

Order matters: the fake Discord and the image service start first (the bot needs their addresses),
then the bot (``bot.app.startup.serve``, exactly as ``python -m bot`` runs it), then the page, whose
address is printed only once the bot is logged in and has synced its commands, so a person who
opens it at once finds everything working.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Mapping

from bot.app.startup import serve, stop_on_signals
from bot.logs import configure_logging
from bot.playground.runner import SIMULATED_KEY, PlaygroundOptions, inner_settings
from bot.playground.web import PlaygroundServer
from bot.playground.world import build_playground
from testkit.fake_discord import FakeDiscord

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 60.0  # seconds for the bot to log in to the embedded Discord


@contextlib.asynccontextmanager
async def image_service(options: PlaygroundOptions) -> AsyncIterator[str | None]:
    """The simulated EggAPI's address, or None when the operator chose the real one."""
    if options.real_eggapi:
        log.warning("the playground uses the REAL EggAPI (EGGBOT_PLAYGROUND_EGGAPI=real): real images, real charges")
        yield None
        return
    from testkit.fake_eggapi import SimulatedEggAPI

    async with SimulatedEggAPI(api_key=SIMULATED_KEY) as service:
        yield service.url


async def play(environ: Mapping[str, str], options: PlaygroundOptions) -> int:
    """Run the playground until Ctrl-C or SIGTERM; the exit status."""
    stop = asyncio.Event()
    stop_on_signals(stop)
    token = f"playground-{secrets.token_hex(8)}"
    async with FakeDiscord(token=token, bot_name="EggBot") as fake, image_service(options) as eggapi_url:
        world = build_playground(fake)
        settings = inner_settings(
            environ, options, discord_api=fake.api_base, gateway=fake.ws_url, token=token, eggapi_url=eggapi_url
        )
        configure_logging(settings.log_level, json_lines=settings.log_format == "json", secrets=settings.secrets)
        ready = asyncio.Event()
        bot = asyncio.create_task(serve(settings, stop, ready=ready), name="eggbot-playground-bot")
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait({bot, waiting}, timeout=STARTUP_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            waiting.cancel()
            stop.set()
            log.error("the bot did not start in the playground; see the lines above")
            return await bot if bot.done() else 1
        await fake.wait_for(lambda f: f.sync_count >= 1 or None, timeout=STARTUP_TIMEOUT)
        page = await PlaygroundServer.start(world, options.host, options.port, real_eggapi=options.real_eggapi)
        try:
            print(page.url, flush=True)  # alone on its line: the address to open
            await asyncio.wait({bot, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            status = await bot
        finally:
            await page.stop()
    log.info("playground stopped")
    return status
