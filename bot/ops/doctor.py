"""``python -m bot doctor``: what works and what does not, in plain words, with what to do about each.

It reads the settings as the bot would, then checks the database (without creating or migrating
it), the EggAPI key, the webhook settings and, over Discord's REST API only (no gateway), the bot
token, its invite link, its slash commands and the channels ``/imagine`` needs in every server. It
is safe beside the running bot. The exit status is 0 only when everything the bot needs works.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

import aiohttp

from bot.guilds import ALLOWED_CHANNELS, GuildSettings
from bot.ops.checks import SECRETS, Check, Verdict, check_database, check_eggapi, check_webhooks, read_settings
from bot.ops.discord_rest import DiscordRest
from bot.ops.servers import AllowedChannels, check_discord
from bot.settings import Settings
from bot.storage import Storage
from bot.storage.sqlite import Database

__all__ = ["diagnose", "render", "run"]

LABELS = {Verdict.OK: "OK  ", Verdict.INFO: "INFO", Verdict.WARN: "WARN", Verdict.FAIL: "FAIL"}
HTTP_TIMEOUT = 20.0


async def diagnose(env: Mapping[str, str]) -> list[Check]:
    """Every check, in the order they are shown."""
    settings, checks = read_settings(env)
    if settings is None:
        return checks
    unset = {check.subject for check in checks if check.subject in SECRETS}
    database = await check_database(settings)
    checks.append(database)
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(HTTP_TIMEOUT)))
        if "EGGAPI_API_KEY" not in unset:
            checks.append(await check_eggapi(settings, session))
        checks.extend(await check_webhooks(settings, session))
        if "DISCORD_TOKEN" not in unset:
            allowed = await _allowed_channels(stack, settings, database)
            rest = DiscordRest(session, settings.discord_token, settings.discord_api_base)
            checks.extend(await check_discord(rest, allowed, settings.dev_guild_id))
    return checks


async def _allowed_channels(stack: contextlib.AsyncExitStack, settings: Settings, database: Check) -> AllowedChannels:
    """Each server's ``/policy channels`` list, read from a usable database (none without one)."""

    async def nothing(guild_id: int) -> tuple[int, ...]:
        return ()

    if database.verdict is not Verdict.OK:
        return nothing
    db: Storage
    try:
        if settings.database_url is not None:
            from bot.storage.postgres import PostgresDatabase

            db = await stack.enter_async_context(await PostgresDatabase.open_existing(settings.database_url))
        elif settings.database_path.is_file():
            db = await stack.enter_async_context(await Database.open_existing(settings.database_path))
        else:
            return nothing
    except (OSError, RuntimeError):  # gone since, or not at this code's schema (DatabaseUnavailable is one too)
        return nothing
    guild_settings = GuildSettings(db)

    async def allowed(guild_id: int) -> tuple[int, ...]:
        return await guild_settings.get(guild_id, ALLOWED_CHANNELS)

    return allowed


def render(checks: list[Check]) -> str:
    """The report as printed: one line per check, advice and details indented under it, then the verdict."""
    lines = ["eggbot doctor", ""]
    for check in checks:
        lines.append(f"{LABELS[check.verdict]}  {check.subject}: {check.found}")
        lines.extend(f"        {detail}" for detail in check.details)
        if check.advice and check.verdict is not Verdict.OK:
            lines.append(f"        → {check.advice}")
    failed = sum(check.verdict is Verdict.FAIL for check in checks)
    warned = sum(check.verdict is Verdict.WARN for check in checks)
    lines.append("")
    if failed:
        lines.append(
            f"{failed} thing{'s' if failed != 1 else ''} to fix (FAIL above): the bot cannot work fully until then."
        )
    else:
        note = f" ({warned} warning{'s' if warned != 1 else ''} above)" if warned else ""
        lines.append(f"Everything the bot needs works{note}.")
    return "\n".join(lines)


def run(env: Mapping[str, str]) -> int:
    """Check, print the report; 0 when nothing FAILed, else 1."""
    checks = asyncio.run(diagnose(env))
    print(render(checks))
    return 1 if any(check.verdict is Verdict.FAIL for check in checks) else 0
