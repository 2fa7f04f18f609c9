"""EggBot: the discord.py Bot with the core services injected."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import discord
from discord.ext import commands

from bot.app.modlog import DiscordModLog
from bot.app.publisher import DiscordPublisher
from bot.app.translator import CatalogueTranslator
from bot.app.tree import EggTree
from bot.ops.permissions import IMAGINE_PERMISSIONS
from bot.services import Core, build_services
from bot.webhooks import HealthReport

log = logging.getLogger(__name__)

DEFAULT_EXTENSIONS = (
    "cogs.imagine",
    "cogs.quota",
    "cogs.usage",
    "cogs.policy",
    "cogs.mydata",
    "cogs.history",
    "cogs.settings",
    "cogs.help",
)
# The channel permissions the README asks for; the invite link in the "ready" line (and doctor's) requests them.
INVITE_PERMISSIONS = discord.Permissions(IMAGINE_PERMISSIONS)


class EggBot(commands.AutoShardedBot):
    """The Discord side of the process: the client, holding the services the cogs call.

    The core is built before the bot (``bot.services.build_core``); the parts that follow tasks
    need the publisher, which needs this client, so they are built here, once, by
    ``bot.services.build_services``. Nothing else builds a service.

    Sharded (``EGGBOT_SHARD_COUNT``/``EGGBOT_SHARD_IDS``), each process runs its share of the shards;
    unsharded, one process runs as many as Discord recommends. Only the process with shard 0 syncs
    commands, and every IDENTIFY takes a turn reserved in the shared database (``before_identify_hook``).
    """

    def __init__(
        self,
        *,
        core: Core,
        extensions: Sequence[str] = DEFAULT_EXTENSIONS,
        force_sync: bool = False,
        run_tracker: bool = True,
        freeze_startup_objects: bool = False,
        **options: Any,
    ) -> None:
        options.setdefault("intents", discord.Intents(guilds=True))
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        if core.settings.shard_count is not None:
            options.setdefault("shard_count", core.settings.shard_count)
        if core.settings.shard_ids is not None:
            options.setdefault("shard_ids", list(core.settings.shard_ids))
        if core.resources.metrics is not None:  # Discord's 429s and acknowledgement times (EGGBOT_METRICS)
            options.setdefault("http_trace", core.resources.metrics.discord_trace())
        super().__init__(command_prefix=commands.when_mentioned, tree_cls=EggTree, help_command=None, **options)
        self.services = build_services(core, DiscordPublisher(self), self.health, DiscordModLog(self))
        self.settings = core.settings
        self.db = core.resources.db
        self.eggapi = core.resources.eggapi
        self.task_store = core.tasks
        self.ledger = core.ledger
        self.books = core.books
        self.jobs = core.jobs
        self.references = core.references
        self.reports = core.reports
        self.guild_settings = core.guild_settings
        self.policy = core.policy
        self.modlog = core.modlog
        self.members = core.members
        self.history = core.history
        self.preferences = core.preferences
        self.prices = core.prices
        self.processes = core.processes
        self.foreground = self.services.foreground
        self.tracker = self.services.tracker
        self.web = self.services.web
        self.remakes = self.services.remakes
        self._extensions = tuple(extensions)
        self.stopping = False
        self._force_sync = force_sync
        self._run_tracker = run_tracker
        self._freeze_startup_objects = freeze_startup_objects
        self._announced_ready = False
        self._identify_buckets = 1  # Discord's max_concurrency, learnt at login
        self._closing = asyncio.Event()

    async def setup_hook(self) -> None:
        """Load the cogs, sync commands (in every shipped language) if they changed, and resume unfinished tasks."""
        await self.tree.set_translator(CatalogueTranslator())
        for extension in self._extensions:
            await self.load_extension(extension)
        if self.syncs_commands:
            await self.sync_commands(force=self._force_sync)
        if self.shard_ids is not None:  # sharded across processes: their IDENTIFYs share the buckets
            _, _, limit = await self.http.get_bot_gateway()
            self._identify_buckets = max(int(limit.get("max_concurrency", 1)), 1)
        if self._run_tracker:
            if self.processes is not None:  # before the first EggAPI request: its share of the budget
                await self.processes.start()
            await self.tracker.start()
            self.prices.start()
            if self.web is not None:
                await self.web.start()
        if self._freeze_startup_objects:
            # Modules, commands and services live as long as the process: keep them out of the
            # cyclic garbage collector's full passes (27 ms -> 4 ms pauses under load in bench/).
            gc.collect()
            gc.freeze()

    @property
    def syncs_commands(self) -> bool:
        """One process syncs the commands: the one running shard 0 (every process, unsharded, is that one)."""
        return self.shard_ids is None or 0 in self.shard_ids

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait for this shard's turn: one IDENTIFY per ``max_concurrency`` bucket per interval, across processes.

        discord.py's own hook sleeps 5 s before every IDENTIFY but a process's first, which paces one
        process; processes started together would still IDENTIFY at once and be refused (op 9). The turn
        is reserved in the database all processes share, so they queue instead.
        """
        bucket = (shard_id or 0) % self._identify_buckets
        slot = await self.db.reserve_slot(f"identify:{bucket}", self.settings.identify_interval, time.time())
        wait = slot - time.time()
        if wait > 0:
            log.info("shard %s waits %.1f s for its turn to connect", shard_id, wait)
            await asyncio.sleep(wait)

    async def launch_shards(self) -> None:
        """Connect the shards, but give up as soon as the bot is closing.

        discord.py retries a shard that fails to connect every 5 s for as long as it takes, even once
        the client is closed, so a stop during start-up (SIGTERM, a refused EggAPI key) would hang.
        """
        launching = asyncio.ensure_future(super().launch_shards())
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait({launching, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
            if not launching.done():
                launching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await launching
        if not launching.cancelled():
            launching.result()  # a failure of the launch itself propagates as before

    async def on_ready(self) -> None:
        """Say once, after login, that the bot is up, where, and how to invite it (operators start here)."""
        if self._announced_ready or self.user is None:
            return
        self._announced_ready = True
        servers = len(self.guilds)
        invite = discord.utils.oauth_url(self.application_id or self.user.id, permissions=INVITE_PERMISSIONS)
        log.info(
            "ready as %s in %d server%s; invite it with %s",
            self.user.name,
            servers,
            "" if servers == 1 else "s",
            invite,
        )

    async def sync_commands(self, *, force: bool = False) -> bool:
        """Sync the command tree when its definition changed since the last sync (or when forced).

        The definition includes the translations, so a catalogue's new command text is synced too.
        """
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        commands_ = self.tree.get_commands(guild=guild)
        translator = self.tree.translator
        if translator is not None:
            payload = [await command.get_translated_payload(self.tree, translator) for command in commands_]
        else:
            payload = [command.to_dict(self.tree) for command in commands_]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        key = f"commands:{self.application_id}:{guild.id if guild else 'global'}"
        if not force and await self.db.get_meta(key) == digest:
            log.info("commands unchanged since the last sync; not syncing")
            return False
        synced = await self.tree.sync(guild=guild)
        await self.db.set_meta(key, digest)
        log.info("synced %d command(s) %s", len(synced), f"to guild {guild.id}" if guild else "globally")
        return True

    async def close(self) -> None:
        """Stop the tracker (flushing state) before the Discord connection closes."""
        self.stopping = True  # the tree refuses new commands from here on
        self._closing.set()
        if self.web is not None:
            await self.web.stop()  # no new hints once we are stopping
        await self.prices.close()
        await self.tracker.close()
        if self.processes is not None and self._run_tracker:  # after the last EggAPI request
            await self.processes.close()
        await self.modlog.close()
        await super().close()

    async def health(self) -> HealthReport:
        """Gateway connected, database writable, tracker alive (for ``GET /healthz``)."""
        return HealthReport(
            gateway_connected=self.is_ready() and not self.is_closed(),
            database_writable=await self.db.is_writable(),
            tracker_alive=self.tracker.alive,
            details={"tasks_in_flight": self.tracker.in_flight},
        )
