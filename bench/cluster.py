"""Several bot processes on one database, against one fake Discord (sharded) and one fake EggAPI.

The scale-out scenario's world (``bench.scale_out``): ``guilds`` servers whose ids Discord's formula
spreads evenly over the shards of every process count measured (a multiple of their least common
multiple), channels and members spread over the servers, and one ``python -m bench.botproc`` per
shard (``EGGBOT_SHARD_COUNT=N``, ``EGGBOT_SHARD_IDS=i``, ``DATABASE_URL``), or one unsharded process
on SQLite. Each process reports its own task transitions; task ids come from the one database, so
the processes' reports join on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import TERMINAL, ProbedBot
from testkit.fake_discord import FakeChannel, FakeDiscord, FakeMember
from testkit.fake_eggapi import FakeEggAPI, TaskPlan
from testkit.processes import bot_env

log = logging.getLogger(__name__)

# Discord allows one IDENTIFY per bucket per 5 s; the fake asks for 0.1 s here and the bots keep 0.5 s
# between theirs (as the multi-process tests do), so four processes connect in seconds, not twenty.
PACE = 0.1
IDENTIFY_INTERVAL = "0.5"


@dataclass(frozen=True)
class Seat:
    """Where one /imagine is typed: a member and a channel of the same server."""

    member: FakeMember
    channel: FakeChannel


@dataclass(frozen=True)
class Layout:
    """How many servers, channels and members, and the shard counts the servers must spread over."""

    guilds: int
    channels: int
    members: int
    shard_counts: Sequence[int]

    @property
    def spread(self) -> int:
        """Servers are placed round robin on the shards of this many (every measured count divides it)."""
        return math.lcm(*self.shard_counts) if self.shard_counts else 1

    @property
    def guild_count(self) -> int:
        spread = self.spread
        return max(spread, math.ceil(self.guilds / spread) * spread)


def populate(fake: FakeDiscord, layout: Layout) -> list[Seat]:
    """Create the servers, channels and members; returns the seats, round robin over the servers."""
    spread = layout.spread
    guilds = [
        fake.add_guild(f"Bench {g}", shard=(g % spread, spread) if spread > 1 else None)
        for g in range(layout.guild_count)
    ]
    channels = [
        fake.add_channel(guilds[c % len(guilds)], f"scale-{c}") for c in range(max(len(guilds), layout.channels))
    ]
    members = [fake.add_member(guilds[m % len(guilds)], f"member{m}") for m in range(max(len(guilds), layout.members))]
    by_guild: dict[int, list[FakeMember]] = {}
    for member in members:
        by_guild.setdefault(member.guild.id, []).append(member)
    # Channel c is in server c mod G: consecutive seats are in different servers, hence on different shards.
    seats = []
    for c, channel in enumerate(channels):
        assert channel.guild is not None
        people = by_guild[channel.guild.id]
        seats.append(Seat(people[(c // len(guilds)) % len(people)], channel))
    return seats


@dataclass
class Cluster:
    """The running world: the fakes, the bot processes (one per shard, ``bots[i]`` runs shard ``i``)."""

    fake: FakeDiscord
    eggapi: FakeEggAPI
    bots: list[ProbedBot]
    seats: list[Seat]
    terminal: set[int] = field(default_factory=set)
    delivered_at: dict[int, float] = field(default_factory=dict)
    delivered_by: dict[int, int] = field(default_factory=dict)
    database_pid: int | None = None  # PostgreSQL's postmaster, for its CPU (None on SQLite)

    def refresh(self) -> int:
        """Gather every process's terminal tasks (a task's end is reported by the process that ended it)."""
        for index, bot in enumerate(self.bots):
            for task_id, times in bot.tasks.items():
                if task_id in self.terminal or times.terminal is None:
                    continue
                self.terminal.add(task_id)
                if "delivered" in times.at:
                    self.delivered_at[task_id] = times.at["delivered"]
                    self.delivered_by[task_id] = index
        return len(self.terminal)

    async def wait_terminal(self, count: int, timeout: float) -> bool:
        """Until ``count`` tasks have ended (woken by any process's report), at most ``timeout`` s."""

        def ended() -> bool:
            return self.refresh() >= count

        if ended():
            return True
        waits = [asyncio.create_task(bot.wait_until(ended, timeout, f"{count} tasks to end")) for bot in self.bots]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        return ended()

    @property
    def alive(self) -> bool:
        return all(bot.alive for bot in self.bots)

    async def stats(self) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(bot.command("stats") for bot in self.bots)))


def process_env(database: str, processes: int, shard: int) -> dict[str, str]:
    """The settings that place one process: its database, and its shard when there are shards."""
    if not database.startswith("postgresql://"):
        return {"DATABASE_PATH": database}
    return {
        "DATABASE_URL": database,
        "EGGBOT_SHARD_COUNT": str(processes),
        "EGGBOT_SHARD_IDS": str(shard),
        "EGGBOT_IDENTIFY_INTERVAL": IDENTIFY_INTERVAL,
    }


@contextlib.asynccontextmanager
async def running_cluster(
    *,
    layout: Layout,
    database: str,
    processes: int,
    settings: dict[str, str],
    plan: TaskPlan,
    rate_limit: tuple[int, float],
    keep_dir: Path | None = None,
) -> AsyncIterator[Cluster]:
    """Fresh fakes, the world of ``layout``, and ``processes`` bot processes on ``database``
    (a PostgreSQL URL, or an SQLite path: then one process, unsharded)."""
    with tempfile.TemporaryDirectory(prefix="eggbot-scale-") as scratch:
        tmp = Path(scratch)
        async with FakeEggAPI() as eggapi, FakeDiscord() as fake:
            eggapi.default_plan = plan
            fake.enable_rate_limit(*rate_limit)
            fake.gateway.pacer.interval = PACE
            seats = populate(fake, layout)
            bots = []
            for shard in range(processes):
                folder = tmp / f"process{shard}"
                folder.mkdir()
                env = bot_env(
                    folder,
                    fake,
                    eggapi.url,
                    {},
                    LANG=os.environ.get("LANG", "C.UTF-8"),
                    PYTHONUNBUFFERED="1",
                    **settings,
                    **process_env(database, processes, shard),
                )
                bots.append(ProbedBot(env, folder / "bot.log"))
            try:
                await bots[0].start()  # shard 0 syncs the commands every process answers
                await asyncio.gather(*(bot.start() for bot in bots[1:]))
                await fake.wait_for(lambda f: f.sync_count >= 1 or None, timeout=60)
                yield Cluster(fake, eggapi, bots, seats)
            finally:
                await asyncio.gather(*(bot.stop() for bot in bots), return_exceptions=True)
                if keep_dir is not None:
                    keep_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, after the run
                    for shard, bot in enumerate(bots):
                        with contextlib.suppress(OSError):
                            (keep_dir / f"bot{shard}.log").write_bytes(bot.log_path.read_bytes())


def log_problems(cluster: Cluster) -> dict[str, Any]:
    """ERROR lines in the processes' logs, Discord rules broken, routes the fake lacks."""
    errors: list[str] = []
    warnings = 0
    for bot in cluster.bots:
        try:
            lines = bot.log_path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        errors += [line for line in lines if " ERROR " in line or " CRITICAL " in line]
        warnings += sum(1 for line in lines if " WARNING " in line)
    kinds: dict[str, int] = {}
    for violation in cluster.fake.violations:
        kinds[violation.kind] = kinds.get(violation.kind, 0) + 1
    return {
        "errors": len(errors),
        "warnings": warnings,
        "first_errors": errors[:3],
        "discord_violations": kinds,
        "unexpected_routes": sorted(set(cluster.fake.unexpected_routes)),
    }


__all__ = ["TERMINAL", "Cluster", "Layout", "Seat", "log_problems", "populate", "running_cluster"]
