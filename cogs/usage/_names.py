"""How /usage names members, and the bounded REST look-up that names them in the CSV and the chart.

The bot runs with the ``guilds`` intent only (no privileged members intent), so Discord sends it no
member list and ``Guild.get_member`` knows nobody. Embeds can still say ``<@id>``: the reader's client
shows the name. Files cannot, so an export asks Discord for the members it names
(``GET /guilds/{id}/members/{id}``, which needs no privileged intent), a bounded number per report,
after the interaction was acknowledged, and keeps the id when a member left or the look-up fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping

import aiohttp
import discord

log = logging.getLogger(__name__)

FETCH_LIMIT = 25  # look-ups per report: the chart's top members, then the CSV's biggest spenders
FETCH_CONCURRENCY = 4  # in flight at once; discord.py waits out rate limits on its own
FETCH_TIMEOUT = 5.0  # seconds for all of a report's look-ups; whoever is not named by then keeps the id


class MemberNames:
    """Names for one report: given or cached names, then looked-up ones; a mention or the id otherwise."""

    def __init__(self, guild: discord.Guild | None, known: Mapping[int, str] | None = None) -> None:
        self._guild = guild
        self._known: dict[int, str | None] = dict(known or {})  # None: asked Discord, got no name
        self._budget = FETCH_LIMIT

    def _cached(self, member_id: int) -> str | None:
        if member_id in self._known:
            return self._known[member_id]
        member = self._guild.get_member(member_id) if self._guild is not None else None
        return None if member is None else member.display_name

    def embed(self, member_id: int) -> str:
        """Name for an embed: the escaped display name, else ``<@id>`` (never pings: allowed_mentions none)."""
        name = self._cached(member_id)
        return f"<@{member_id}>" if name is None else discord.utils.escape_markdown(name)

    def plain(self, member_id: int) -> str:
        """Name for a file (CSV, chart): the display name, else the id."""
        return self._cached(member_id) or str(member_id)

    async def look_up(self, member_ids: Iterable[int]) -> None:
        """Ask Discord for the names of ``member_ids`` not known yet, in that order, within this report's budget.

        Never raises for Discord's answers: a member who left (404 Unknown Member), a refusal or a slow
        answer leaves the id in place. Each member is asked once per report.
        """
        guild = self._guild
        if guild is None:
            return
        wanted = [m for m in dict.fromkeys(member_ids) if m not in self._known and self._cached(m) is None]
        wanted = wanted[: self._budget]
        if not wanted:
            return
        self._budget -= len(wanted)
        for member_id in wanted:
            self._known[member_id] = None  # asked: an unanswered look-up is not repeated by a second export
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)
        try:
            async with asyncio.timeout(FETCH_TIMEOUT):
                await asyncio.gather(*(self._fetch(guild, member_id, gate) for member_id in wanted))
        except TimeoutError:
            missing = sum(1 for m in wanted if self._known[m] is None)
            log.warning(
                "/usage: %d member name look-up(s) in guild %s unanswered after %ss; ids shown instead",
                missing,
                guild.id,
                FETCH_TIMEOUT,
            )

    async def _fetch(self, guild: discord.Guild, member_id: int, gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                member = await guild.fetch_member(member_id)
            except discord.NotFound:
                log.debug("/usage: member %s is no longer in guild %s", member_id, guild.id)
                return
            except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
                log.info("/usage: could not look up member %s in guild %s: %r", member_id, guild.id, exc)
                return
        self._known[member_id] = member.display_name
