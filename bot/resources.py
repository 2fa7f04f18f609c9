"""EggAPI's client on an HTTP session of its own, opened and closed in one place.

``python -m bot`` (``bot.__main__.resources``), its operator commands and the benchmark's bot
process all get their client from here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from bot.eggapi import EggAPIClient
from bot.settings import Settings


@asynccontextmanager
async def http_client(settings: Settings) -> AsyncIterator[tuple[aiohttp.ClientSession, EggAPIClient]]:
    """An HTTP session and the EggAPI client on it, closed afterwards."""
    timeout = aiohttp.ClientTimeout(total=settings.http_timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session, EggAPIClient(
            session, api_key=settings.eggapi_api_key, base_url=settings.eggapi_base_url, timeout=settings.http_timeout
        )
