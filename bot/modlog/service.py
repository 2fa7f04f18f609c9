"""ModLog: what happens on a server, told to its moderators in one channel, without ever slowing a job.

``record`` only appends to a bounded queue per guild (the oldest go first when it overflows,
counted in a line of their own) and wakes that guild's worker. The worker waits ``window``
seconds so that what arrives together is posted together, then posts the lines in as few
messages of at most 2,000 characters as they fit, one at a time: a busy server makes a post
every few seconds, not one per job, and stays under Discord's per-channel limit. A channel
that cannot take posts is not tried again (until the setting changes, or ``retry_after``), and
the next moderator to use a command there is told once (``take_outage``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import PolicyRefusal
from bot.guilds import MOD_LOG_CHANNEL, GuildSettings
from bot.lifecycle import IntakeCheck, KeyedLanes
from bot.lifecycle.model import ImagineRequest
from bot.modlog.events import EventsDropped, JobRefused, ModLogEvent, ModLogPort, ModLogUnavailable

log = logging.getLogger(__name__)

MAX_POST_CHARS = 2000  # Discord's message content limit
MAX_PROMPT_CHARS = 300


@dataclass(slots=True)
class Outage:
    """The mod-log channel of a guild cannot take posts: since when, and why (for the moderator)."""

    channel_id: int
    reason: str
    since: float
    told: bool = False


def pack(lines: list[str], limit: int = MAX_POST_CHARS) -> list[str]:
    """The lines joined into as few posts of at most ``limit`` characters as they fit (a longer line is cut)."""
    posts: list[str] = []
    current = ""
    for raw in lines:
        line = raw if len(raw) <= limit else raw[: limit - 1] + "…"
        if current and len(current) + 1 + len(line) <= limit:
            current = f"{current}\n{line}"
            continue
        if current:
            posts.append(current)
        current = line
    if current:
        posts.append(current)
    return posts


class ModLog:
    """Collects a guild's events and posts them, batched, to its mod-log channel (``MOD_LOG_CHANNEL``)."""

    def __init__(
        self,
        settings: GuildSettings,
        *,
        window: float = 2.0,
        max_queued: int = 500,
        retry_after: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._port: ModLogPort | None = None
        self._window = window
        self._max_queued = max_queued
        self._retry_after = retry_after
        self._clock = clock
        self._queues: dict[int, deque[ModLogEvent]] = {}
        self._dropped: dict[int, int] = {}
        self._outages: dict[int, Outage] = {}
        self._lanes: KeyedLanes[int] = KeyedLanes("modlog", self._drain)

    def attach(self, port: ModLogPort) -> None:
        """Start posting through ``port`` (the chat side exists only after the core is built)."""
        self._port = port
        for guild_id in list(self._queues):
            self._lanes.kick(guild_id)

    def record(self, guild_id: int | None, event: ModLogEvent) -> None:
        """Queue ``event`` for the guild's mod-log; never raises, never waits (DMs have no mod-log)."""
        if guild_id is None:
            return
        try:
            queue = self._queues.setdefault(guild_id, deque())
            if len(queue) >= self._max_queued:
                queue.popleft()
                self._dropped[guild_id] = self._dropped.get(guild_id, 0) + 1
            queue.append(event)
            if self._port is not None:
                self._lanes.kick(guild_id)
        except Exception:  # the mod-log must never break what it watches
            log.exception("guild %s: could not queue a mod-log event", guild_id)

    def watch(self, check: IntakeCheck) -> IntakeCheck:
        """``check`` as an intake check whose refusals are also recorded here."""

        async def watched(request: ImagineRequest) -> None:
            try:
                await check(request)
            except PolicyRefusal as exc:
                prompt = request.prompt[:MAX_PROMPT_CHARS]
                self.record(request.guild_id, JobRefused(request.member_id, exc.rule, prompt))
                raise

        return watched

    async def channel(self, guild_id: int) -> int | None:
        """The guild's mod-log channel, or None."""
        return await self._settings.get(guild_id, MOD_LOG_CHANNEL)

    async def set_channel(self, guild_id: int, channel_id: int | None) -> int | None:
        """Post the guild's mod-log to ``channel_id`` (None: nowhere); returns the channel it replaces."""
        before = await self.channel(guild_id)
        await self._settings.set(guild_id, MOD_LOG_CHANNEL, channel_id)
        self._outages.pop(guild_id, None)  # a new setting deserves a new try
        return before

    def outage(self, guild_id: int) -> Outage | None:
        """The guild's mod-log outage, told or not (None while its channel takes posts)."""
        return self._outages.get(guild_id)

    def take_outage(self, guild_id: int | None) -> Outage | None:
        """The guild's mod-log outage if no moderator was told of it yet; it is then marked told."""
        outage = self._outages.get(guild_id) if guild_id is not None else None
        if outage is None or outage.told:
            return None
        outage.told = True
        return outage

    async def flush(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for what is queued to be posted (tests, shutdown)."""
        await self._lanes.wait(timeout)

    async def close(self) -> None:
        """Stop the workers; what was still queued is not posted."""
        await self._lanes.cancel()

    def _skip(self, guild_id: int, channel_id: int) -> bool:
        outage = self._outages.get(guild_id)
        if outage is None or outage.channel_id != channel_id:
            return False
        return self._clock() - outage.since < self._retry_after

    async def _drain(self, guild_id: int) -> None:
        queue = self._queues[guild_id]
        try:
            while queue and self._port is not None:
                await asyncio.sleep(self._window)  # let what happens together be posted together
                events = list(queue)
                queue.clear()
                dropped = self._dropped.pop(guild_id, 0)
                if dropped:
                    events.insert(0, EventsDropped(dropped))
                try:
                    await self._post(guild_id, self._port, events)
                except Exception:
                    log.exception("guild %s: %d mod-log line(s) not posted", guild_id, len(events))
        finally:
            if not queue:
                self._queues.pop(guild_id, None)

    async def _post(self, guild_id: int, port: ModLogPort, events: list[ModLogEvent]) -> None:
        channel_id = await self.channel(guild_id)
        if channel_id is None or self._skip(guild_id, channel_id):
            return
        for text in pack([port.line(guild_id, event) for event in events]):
            try:
                await port.post_modlog(channel_id, text)
            except ModLogUnavailable as exc:
                if guild_id not in self._outages or self._outages[guild_id].channel_id != channel_id:
                    log.warning("guild %s: mod-log channel %s cannot take posts: %s", guild_id, channel_id, exc)
                    self._outages[guild_id] = Outage(channel_id, str(exc), self._clock())
                else:
                    self._outages[guild_id].since = self._clock()
                return
        outage = self._outages.get(guild_id)
        if outage is not None and outage.channel_id == channel_id:
            log.info("guild %s: the mod-log channel takes posts again", guild_id)
            del self._outages[guild_id]
