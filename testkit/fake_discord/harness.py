"""pytest helpers to run a real discord.py bot against :class:`~testkit.fake_discord.FakeDiscord`.

``run_bot(bot, fake)`` points discord.py at the fake (``Route.BASE`` and ``DEFAULT_GATEWAY``,
restored once the last bot running against it stops), starts ``bot.start(token)`` as a task, waits
for ``on_ready`` and on exit closes the bot and awaits the task::

    async with FakeDiscord() as fake:
        ...build the world...
        async with run_bot(MyBot(), fake) as bot:
            ...drive it with fake.slash(...)...
        assert_clean(fake)

``assert_clean(fake, allow=(), caplog=None)`` fails if the bot hit an unimplemented route, broke a
Discord rule (``fake.violations`` minus the ``allow``-ed kinds), or (given pytest's ``caplog``)
logged anything at ERROR or above.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any, TypeVar

import discord
import discord.gateway
import discord.http
import yarl

from .server import FakeDiscord

BotT = TypeVar("BotT", bound=discord.Client)


# discord.py's addresses before the first running bot pointed them at a fake, then one entry per running
# bot: bots started together (shards) may finish in any order, and only the last may restore them.
_pointed: list[tuple[str, yarl.URL] | None] = []


async def _no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
    """Replacement for ``Client.before_identify_hook``, which sleeps 5 s before every re-IDENTIFY."""


@contextlib.asynccontextmanager
async def run_bot(
    bot: BotT,
    fake: FakeDiscord,
    *,
    token: str | None = None,
    ready_timeout: float = 10.0,
    guild_ready_timeout: float | None = 0.05,
    fast_reidentify: bool = True,
) -> AsyncIterator[BotT]:
    """Run ``bot`` against ``fake`` for the duration of the block and yield it once ready.

    ``guild_ready_timeout`` lowers the bot's wait after the last GUILD_CREATE (discord.py's default
    is 2 s; None keeps the bot's own value). ``fast_reidentify`` replaces ``before_identify_hook`` on
    the instance with a no-op. If ``bot.start`` fails before ready, its exception is raised here.
    """
    if not _pointed:  # the first of the bots running at once keeps what to restore
        _pointed.append((discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY))
    _pointed.append(None)
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.ws_url)
    if guild_ready_timeout is not None:
        bot._connection.guild_ready_timeout = min(bot._connection.guild_ready_timeout, guild_ready_timeout)
    if fast_reidentify:
        bot.before_identify_hook = _no_identify_delay  # type: ignore[method-assign]
    task: asyncio.Task[None] = asyncio.create_task(bot.start(token or fake.token), name="fake-discord-bot")
    body_ok = False
    try:
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({task, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # raises the start() failure
                raise RuntimeError("bot.start() returned before the bot was ready")
            raise TimeoutError(f"bot not ready after {ready_timeout}s\n{fake.debug_summary()}")
        yield bot
        body_ok = True
    finally:
        try:
            await bot.close()
            try:
                await asyncio.wait_for(task, 10.0)
            except asyncio.CancelledError:
                pass
            except Exception:
                if body_ok:  # otherwise the error that is already propagating is the one to report
                    raise
        finally:
            _pointed.pop()
            if len(_pointed) == 1:  # the last bot out restores discord.py's own addresses
                saved = _pointed.pop()
                assert saved is not None
                discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


def assert_clean(fake: FakeDiscord, *, allow: Iterable[str] = (), caplog: Any = None) -> None:
    """Fail on unexpected routes, on violations not in ``allow``, and on ERROR logs captured by ``caplog``."""
    problems = []
    if fake.unexpected_routes:
        problems.append(f"unimplemented routes called: {fake.unexpected_routes}")
    allowed = set(allow)
    violations = [str(v) for v in fake.violations if v.kind not in allowed]
    if violations:
        problems.append("Discord rules broken:\n  " + "\n  ".join(violations))
    if caplog is not None:
        errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
        if errors:
            problems.append("errors logged:\n  " + "\n  ".join(errors))
    assert not problems, "\n".join(problems)
