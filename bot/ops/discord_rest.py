"""Discord's REST API for ``doctor``: a handful of GETs with the bot token, no gateway, no discord.py.

Discord's 429 answers are waited out (``retry_after``, a few times at most); any other refusal is a
``DiscordRefused`` with its status and Discord's error code, a network failure ``DiscordUnreachable``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_API_BASE", "DiscordRefused", "DiscordRest", "DiscordUnreachable"]

DEFAULT_API_BASE = "https://discord.com/api/v10"
USER_AGENT = "DiscordBot (eggbot doctor, 0.1.0)"
MAX_WAIT = 10.0  # seconds a 429 may make doctor wait, per request
ATTEMPTS = 3


class DiscordRefused(Exception):
    """Discord answered with an error status."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status, self.code, self.message = status, code, message


class DiscordUnreachable(Exception):
    """No answer from Discord (network, DNS, TLS, timeout)."""


class DiscordRest:
    """GETs against ``api_base`` with ``Authorization: Bot <token>``."""

    def __init__(self, session: aiohttp.ClientSession, token: str, api_base: str | None = None) -> None:
        self._session = session
        self._headers = {"Authorization": f"Bot {token}", "User-Agent": USER_AGENT}
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The JSON answer of ``GET {api_base}{path}``."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self._session.get(self.api_base + path, headers=self._headers, params=params) as response:
                    body = await response.json(content_type=None)
                    if response.status == 429 and attempt < ATTEMPTS:
                        wait = float(body.get("retry_after", 1.0)) if isinstance(body, dict) else 1.0
                        if wait <= MAX_WAIT:
                            log.info("Discord rate-limited GET %s; waiting %.1fs", path, wait)
                            await asyncio.sleep(wait)
                            continue
                    if response.status >= 400:
                        code = body.get("code") if isinstance(body, dict) else None
                        message = body.get("message") if isinstance(body, dict) else None
                        raise DiscordRefused(
                            response.status, code if isinstance(code, int) else None, str(message or "")
                        )
                    return body
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise DiscordUnreachable(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc
        raise DiscordRefused(429, None, "rate limited")
