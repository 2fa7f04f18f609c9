"""The process's resources, opened and closed in one place: the database, the HTTP session, EggAPI's client.

``python -m bot``, its operator commands and the benchmark's bot process all start from here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import discord.gateway
import discord.http
import yarl

from bot.db import Database
from bot.eggapi import EggAPIClient
from bot.settings import Settings


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


@asynccontextmanager
async def http_client(settings: Settings) -> AsyncIterator[tuple[aiohttp.ClientSession, EggAPIClient]]:
    """An HTTP session and the EggAPI client on it, closed afterwards."""
    timeout = aiohttp.ClientTimeout(total=settings.http_timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session, EggAPIClient(
            session, api_key=settings.eggapi_api_key, base_url=settings.eggapi_base_url, timeout=settings.http_timeout
        )
