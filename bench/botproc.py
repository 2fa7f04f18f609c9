"""The bot process of the benchmark: the real EggBot, built as ``python -m bot`` builds it, plus probes.

Run by the driver as ``python -m bench.botproc`` with the bot's own settings in the environment
(``load_settings(os.environ)``, exactly what an operator sets) and three benchmark knobs:

``BENCH_LAG_INTERVAL`` (seconds, default 0.01)
    Period of the loop-lag sampler: a task sleeps that long and records how late it woke up.
``BENCH_FLUSH_INTERVAL`` (seconds, default 0.02)
    How often the recorded task transitions are written to stdout.
``BENCH_GUILD_READY_TIMEOUT`` (seconds, default 0.05)
    discord.py's wait after the last GUILD_CREATE before ``on_ready`` (start-up only; the test
    harness lowers it the same way).
``BENCH_DB_COUNTS`` (default off)
    ``1`` counts the database's transactions, reads and statements by change (``bench.dbcount``);
    the ``stats`` reply then carries them under ``db``.
``BENCH_STRATEGY`` (default ``ours``)
    ``per-task-5s`` or ``per-task-1s`` rewires the built bot to a simple strategy for the
    side-by-side figures (``bench.baselines``); ``ours`` is the bot as it ships.

Protocol (JSON lines). stdout, bot → driver:

* ``{"ev": "ready", "pid", "webhooks": bool, "webhook_port"}`` once ``on_ready`` fired;
* ``{"ev": "t", "items": [[task_id, status, monotonic_time], ...]}`` batches of every state change
  seen by ``bot.task_store.add_listener`` (``time.monotonic()``, comparable across processes);
* ``{"ev": "ack", "items": [[interaction_id, received, callback_sent, callback_answered], ...]}``:
  when the bot saw each interaction (its ``on_interaction`` event) and when its callback request
  started and got its answer (discord.py's public ``http_trace`` option, an aiohttp TraceConfig);
* ``{"ev": "reply", "cmd", ...}`` answers to commands.

stdin, driver → bot: ``{"cmd": "stats"}`` (CPU, RSS, loop lag since the last ``mark``),
``{"cmd": "mark"}`` (start a new lag window; answers with the stats before the reset),
``{"cmd": "profile_start"}`` / ``{"cmd": "profile_stop", "path": ...}`` (cProfile of the loop
thread), ``{"cmd": "stop"}``. End of stdin also stops the bot, so an orphan never lingers.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import logging
import os
import resource
import signal
import sys
import time
from typing import Any

import aiohttp
import discord

from bench.baselines import use_strategy
from bench.dbcount import DbCounter
from bench.stats import percentile
from bot.__main__ import tune_interpreter
from bot.app.client import EggBot
from bot.app.startup import point_discord_at
from bot.logs import configure_logging
from bot.services import build_core, open_resources
from bot.settings import load_settings

log = logging.getLogger("bench.botproc")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if raw is None or not raw.strip() else float(raw)


def proc_status_kb(field: str) -> int | None:
    """A ``kB`` line of /proc/self/status (VmRSS, VmHWM), or None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Probes:
    """Transition log, loop-lag sampler and resource figures of this process."""

    def __init__(self, lag_interval: float, flush_interval: float) -> None:
        self.lag_interval = lag_interval
        self.flush_interval = flush_interval
        self.pending: list[list[Any]] = []
        self.acks: list[list[Any]] = []
        self.received: dict[int, float] = {}
        self.lags: list[float] = []
        self.profiler: cProfile.Profile | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def on_transition(self, task_id: int, status: object) -> None:
        """``TaskStore`` listener: runs inside the write transaction, so it only appends."""
        self.pending.append([task_id, str(status), time.monotonic()])

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._sample_lag(), name="bench-lag"),
            asyncio.create_task(self._flush_loop(), name="bench-flush"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.flush()

    async def _sample_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.lag_interval
            await asyncio.sleep(self.lag_interval)
            self.lags.append(max(0.0, loop.time() - expected))

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            self.flush()

    def flush(self) -> None:
        if self.pending:
            items, self.pending = self.pending, []
            emit({"ev": "t", "items": items})
        if self.acks:
            acks, self.acks = self.acks, []
            emit({"ev": "ack", "items": acks})

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.received.setdefault(interaction.id, time.monotonic())

    def http_trace(self) -> aiohttp.TraceConfig:
        """Times the interaction callbacks discord.py sends (POST /interactions/{id}/{token}/callback)."""
        trace = aiohttp.TraceConfig()

        async def start(session: Any, ctx: Any, params: Any) -> None:
            ctx.bench_started = time.monotonic()

        async def end(session: Any, ctx: Any, params: Any) -> None:
            parts = params.url.path.rstrip("/").split("/")
            if params.method == "POST" and len(parts) >= 4 and parts[-1] == "callback" and parts[-4] == "interactions":
                interaction_id = int(parts[-3])
                self.acks.append(
                    [
                        interaction_id,
                        self.received.pop(interaction_id, None),
                        getattr(ctx, "bench_started", None),
                        time.monotonic(),
                    ]
                )

        trace.on_request_start.append(start)
        trace.on_request_end.append(end)
        return trace

    def stats(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        lags = self.lags
        return {
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_kb": proc_status_kb("VmRSS"),
            "hwm_kb": proc_status_kb("VmHWM"),
            "maxrss_kb": usage.ru_maxrss,  # kB on Linux
            "lag_n": len(lags),
            "lag_p50_ms": _ms(percentile(lags, 50)),
            "lag_p99_ms": _ms(percentile(lags, 99)),
            "lag_max_ms": _ms(max(lags) if lags else None),
            "asyncio_tasks": len(asyncio.all_tasks()),
            "monotonic": time.monotonic(),
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


def emit(message: dict[str, Any]) -> None:
    """One JSON line to the driver (stdout is reserved for this protocol; logs go to stderr)."""
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def sweeper_stats(bot: EggBot) -> dict[str, Any]:
    """What the reads of EggAPI's task list did so far, and the request budget's state."""
    stats = bot.tracker.sweeper.stats
    budget = bot.eggapi.budget
    return {
        "sweeps": stats.sweeps,
        "pages": stats.pages,
        "last_pages": stats.last_pages,
        "failures": stats.failures,
        "distrusted": stats.distrusted,
        "fallbacks": dict(stats.fallbacks),
        "following": bot.tracker.sweeper.following,
        "lookups": stats.lookups,
        "status_edits_waiting": bot.tracker.board.waiting,
        "budget_rate": budget.rate if budget is not None else None,
        "budget_granted": budget.granted if budget is not None else None,
        "budget_slowdowns": budget.slowdowns if budget is not None else None,
    }


async def read_commands(bot: EggBot, probes: Probes, stop: asyncio.Event, counter: DbCounter | None) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            stop.set()
            return
        try:
            cmd = json.loads(line)
        except ValueError:
            continue
        name = cmd.get("cmd")
        reply: dict[str, Any] = {"ev": "reply", "cmd": name}
        if name == "stats":
            reply.update(probes.stats(), in_flight=bot.tracker.in_flight, sweeper=sweeper_stats(bot))
            if counter is not None:
                reply["db"] = counter.snapshot()
        elif name == "mark":
            reply.update(probes.stats(), in_flight=bot.tracker.in_flight)
            probes.lags = []
        elif name == "profile_start":
            probes.profiler = cProfile.Profile()
            probes.profiler.enable()
        elif name == "profile_stop":
            if probes.profiler is not None:
                probes.profiler.disable()
                probes.profiler.dump_stats(cmd["path"])
                probes.profiler = None
                reply["path"] = cmd["path"]
        elif name == "stop":
            stop.set()
        probes.flush()  # transitions first, so a reply never overtakes them
        emit(reply)
        if name == "stop":
            return


async def main() -> None:
    settings = load_settings(os.environ)
    configure_logging(settings.log_level)
    tune_interpreter()
    probes = Probes(_env_float("BENCH_LAG_INTERVAL", 0.01), _env_float("BENCH_FLUSH_INTERVAL", 0.02))
    point_discord_at(settings)
    async with open_resources(settings) as resources:  # as python -m bot opens them
        counter = DbCounter() if os.environ.get("BENCH_DB_COUNTS") == "1" else None
        if counter is not None:
            await counter.install(resources.db)
        bot = EggBot(core=build_core(settings, resources), http_trace=probes.http_trace(), freeze_startup_objects=True)
        use_strategy(bot, os.environ.get("BENCH_STRATEGY", "ours"))
        bot.task_store.add_listener(probes.on_transition)
        bot.add_listener(probes.on_interaction, "on_interaction")
        bot._connection.guild_ready_timeout = _env_float("BENCH_GUILD_READY_TIMEOUT", 0.05)
        async with bot:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            runner = asyncio.create_task(bot.start(settings.discord_token), name="eggbot-discord")
            ready = asyncio.create_task(bot.wait_until_ready())
            done, _ = await asyncio.wait({runner, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
            if ready not in done:
                ready.cancel()
                if runner in done:
                    runner.result()
                raise TimeoutError("bot not ready after 30 s")
            probes.start()
            web = getattr(bot, "web", None)
            emit(
                {
                    "ev": "ready",
                    "pid": os.getpid(),
                    "webhooks": bool(getattr(settings, "webhooks_enabled", False) and web is not None),
                    "webhook_port": getattr(web, "port", None) if web is not None else None,
                }
            )
            commands = asyncio.create_task(read_commands(bot, probes, stop, counter), name="bench-commands")
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            await bot.close()
            stopper.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await probes.stop()
            await asyncio.wait({commands}, timeout=1)
            commands.cancel()


if __name__ == "__main__":
    asyncio.run(main())
