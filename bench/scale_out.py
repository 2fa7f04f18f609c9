"""Past one machine (issue #17): deliveries a second and ack p99 with 1, 2 and 4 bot processes on one
PostgreSQL, beside 1 process on SQLite, and the ledger's operations a second on both, in one run.

For each level (``sqlite-1``, then ``postgresql-N`` for N in ``scale_processes``), fresh fakes and a
fresh database (``testkit.postgres``: one throwaway server for the group, a migrated database per
level), N processes each running one shard of N, servers spread evenly over the shards
(``bench.cluster``). The driver offers /imagine at ``scale_rate`` a second, round robin over the
seats (a member and a channel of one server; consecutive ones on different shards), every EggAPI
task lasting ``scale_duration`` s, for ``scale_ramp`` s and then a steady ``scale_window`` s,
never keeping more than ``scale_backlog`` seconds of that rate unfinished (a saturated bot then
works through a bounded queue, and the driver notes each /imagine it held back). Measured over
the window: deliveries a second (tasks reaching ``delivered``), ack latency (the fake dispatches
the interaction -> the bot's first response arrives, as the ack scenario times it), and the CPU of
each bot process, of the driver (the fakes), of PostgreSQL and of the whole machine.

What would bind first and is lifted (``SCALE_SETTINGS``, listed in ``details.scale``): the EggAPI
request budget (20 requests a second; a job costs a submit, a download and its share of the list
reads, so about 10 deliveries a second whatever N), the running and queue caps, and the quota.
The fake EggAPI has no request limit unless a test sets one; the fake Discord keeps Discord's
5 messages per 5 s per channel, hence many channels.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import cpu
from bench.cluster import Cluster, Layout, log_problems, running_cluster
from bench.ledger_bench import run_ledger
from bench.profiles import summarise_profile
from bench.progress import Progress
from bench.stats import summary
from testkit.fake_eggapi import TaskPlan
from testkit.postgres import PostgresServer, find_binaries

log = logging.getLogger(__name__)

SCALE_SETTINGS = {
    "EGGBOT_QUOTA_LIMIT": "1000000",
    "EGGBOT_EGGAPI_RPS": "1000",
    "EGGBOT_MAX_RUNNING_TOTAL": "100000",
    "EGGBOT_MAX_RUNNING_PER_MEMBER": "10000",
    "EGGBOT_MAX_QUEUED_PER_MEMBER": "10000",
}
LIFTED = (
    "EGGBOT_EGGAPI_RPS raised from 20 to 1000 (for all processes together): at 20 (about two requests "
    "a delivery) deliveries stop near 10 a second whatever the number of processes; the running caps, "
    "the queue cap and the quota are lifted so that nothing is refused or queued by policy; the fake "
    "EggAPI enforces no request limit; the fake Discord enforces 5 messages per 5 s per channel"
)


def settings_for(cfg: Any) -> dict[str, str]:
    counts = {"BENCH_DB_COUNTS": "1"} if getattr(cfg, "db_counts", False) else {}
    return {**SCALE_SETTINGS, "LOG_LEVEL": cfg.log_level, **counts}


def levels(cfg: Any, postgres: bool) -> list[tuple[str, int]]:
    """``(backend, processes)`` in the order they run: SQLite's one process first, then each count."""
    out = [("sqlite", 1)]
    if postgres:
        out += [("postgresql", n) for n in cfg.scale_processes]
    return out


async def drive(cluster: Cluster, cfg: Any, progress: Progress, label: str) -> dict[str, Any]:
    """Offer the load, sample CPU at the window's edges, let the last jobs finish; the level's figures."""
    fake = cluster.fake
    rate, ramp, window = cfg.scale_rate, cfg.scale_ramp, cfg.scale_window
    backlog = max(1, int(cfg.scale_backlog * rate))
    started = time.monotonic()
    window_start, window_end = started + ramp, started + ramp + window
    samples: dict[str, tuple[cpu.Reading, list[dict[str, Any]]]] = {}

    async def sample(name: str, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        stats = await cluster.stats()
        samples[name] = (cpu.read(time.monotonic(), cluster.database_pid), stats)

    samplers = [asyncio.create_task(sample("start", window_start)), asyncio.create_task(sample("end", window_end))]
    handles: list[Any] = []
    held_back, slot = 0, 0
    progress.start(f"scale {label}", int(ramp + window))
    last_refresh = 0.0
    while (now := time.monotonic()) < window_end and cluster.alive:
        due = started + slot / rate
        if due > now:
            await asyncio.sleep(due - now)
            continue
        if now - last_refresh > 0.1:
            cluster.refresh()
            last_refresh = now
            progress.update(int(now - started))
        slot += 1
        if len(handles) - len(cluster.terminal) >= backlog:
            held_back += 1
            continue
        seat = cluster.seats[len(handles) % len(cluster.seats)]
        handles.append(await fake.slash(seat.member, seat.channel, "imagine", prompt=f"bench scale j{len(handles)}"))
    await asyncio.gather(*samplers)
    await asyncio.gather(*(h.wait_ack(timeout=30) for h in handles), return_exceptions=True)
    accepted = [h for h in handles if h.callback is not None and not h.callback.flags & 64]
    await cluster.wait_terminal(len(accepted), cfg.scale_drain)
    progress.finish(f"{len(cluster.delivered_at)} delivered")
    return figures_of(cluster, cfg, handles, accepted, samples, held_back)


def figures_of(
    cluster: Cluster,
    cfg: Any,
    handles: list[Any],
    accepted: list[Any],
    samples: dict[str, tuple[cpu.Reading, list[dict[str, Any]]]],
    held_back: int,
) -> dict[str, Any]:
    (first, bots_first), (last, bots_last) = samples["start"], samples["end"]
    seconds = last.at - first.at
    in_window = [t for t in cluster.delivered_at.values() if first.at <= t < last.at]
    sent = [h for h in handles if first.at <= h.dispatched_at < last.at]
    acks = [h.ack_latency for h in accepted if first.at <= h.dispatched_at < last.at and h.ack_latency is not None]
    per_process = []
    for index, (a, b) in enumerate(zip(bots_first, bots_last, strict=True)):
        span = b["monotonic"] - a["monotonic"]
        mine = [t for i, t in cluster.delivered_at.items() if cluster.delivered_by.get(i) == index]
        per_process.append(
            {
                "cpu_cores": round((b["cpu_s"] - a["cpu_s"]) / span, 3) if span > 0 else None,
                "deliveries_per_s": round(sum(1 for t in mine if first.at <= t < last.at) / seconds, 2),
                "loop_lag_p99_ms": b["lag_p99_ms"],
                "rss_mb": round(b["rss_kb"] / 1024, 1) if b.get("rss_kb") else None,
            }
        )
    bots_cores = sum(p["cpu_cores"] or 0.0 for p in per_process)
    cores = {
        "bot_processes": round(bots_cores, 3),
        "driver_fakes": cpu.share(first.driver_s, last.driver_s, seconds),
        "postgresql": cpu.share(first.database_s, last.database_s, seconds),
        "machine": cpu.share(first.machine_s, last.machine_s, seconds),
    }
    ours = sum(v for k, v in cores.items() if k != "machine" and v is not None)
    cores["other_processes"] = round(cores["machine"] - ours, 3) if cores["machine"] is not None else None
    rate = len(in_window) / seconds
    extra = {"db_per_delivery": db_per_delivery(bots_first, bots_last, len(in_window))} if "db" in bots_last[0] else {}
    return {
        **extra,
        "processes": len(cluster.bots),
        "window_s": round(seconds, 1),
        "deliveries_per_s": round(rate, 2),
        "offered_per_s": round(len(sent) / seconds, 2),
        "held_back": held_back,
        "ack_ms": summary(acks, scale=1000, digits=1),
        "sent": len(handles),
        "refused": sum(1 for h in handles if h.callback is not None and h.callback.flags & 64),
        # No answer within Discord's 3 s: the member saw "The application did not respond" (the bot withdraws the job).
        "ack_missed_deadline": sum(1 for h in handles if getattr(h, "timed_out", False)),
        "delivered": len(cluster.delivered_at),
        "unfinished_at_end": len(set().union(*(bot.tasks for bot in cluster.bots)) - cluster.terminal),
        "cpu_cores": cores,
        # CPU milliseconds each delivery cost (every job's whole life): cores over deliveries a second.
        "cpu_ms_per_delivery": {
            k: round(v / rate * 1000, 2) if v is not None and rate else None
            for k, v in cores.items()
            if k in ("bot_processes", "driver_fakes", "postgresql")
        },
        "by_process": per_process,
        "bot_log": log_problems(cluster),
    }


def db_per_delivery(first: list[dict[str, Any]], last: list[dict[str, Any]], delivered: int) -> dict[str, Any]:
    """With ``--db-counts``: every process's transactions, reads and statements in the window, per delivery."""
    out: dict[str, Any] = {}
    for part in ("calls", "statements"):
        totals: dict[str, int] = {}
        for a, b in zip(first, last, strict=True):
            for name, count in b["db"][part].items():
                totals[name] = totals.get(name, 0) + count - a["db"][part].get(name, 0)
        ranked = sorted(((n, c) for n, c in totals.items() if c), key=lambda item: -item[1])
        out[part] = {n: round(c / delivered, 3) if delivered else None for n, c in ranked}
        out[f"{part}_total"] = round(sum(totals.values()) / delivered, 2) if delivered else None
    return out


async def run_level(
    cfg: Any, backend: str, processes: int, server: PostgresServer | None, progress: Progress
) -> dict[str, Any]:
    label = f"{backend}-{processes}"
    server = server if backend == "postgresql" else None
    layout = Layout(cfg.scale_guilds, cfg.scale_channels, cfg.scale_members, tuple(cfg.scale_processes))
    with tempfile.TemporaryDirectory(prefix="eggbot-scale-db-") as scratch:
        database = await server.create_database() if server is not None else str(Path(scratch) / "eggbot.db")
        progress.note(f"[bench] starting {processes} bot process(es) on {backend} ({label})")
        async with running_cluster(
            layout=layout,
            database=database,
            processes=processes,
            settings=settings_for(cfg),
            plan=TaskPlan(duration=cfg.scale_duration),
            rate_limit=cfg.rate_limit,
            keep_dir=cfg.logs_dir / f"scale-{label}" if cfg.logs_dir else None,
        ) as cluster:
            cluster.database_pid = cpu.postmaster_pid(server.data) if server is not None else None
            await profiling(cluster, cfg, label, start=True)
            try:
                figure = await drive(cluster, cfg, progress, label)
            finally:
                await profiling(cluster, cfg, label, start=False)
        if server is not None:
            await server.drop_database(database)
    return figure


async def profiling(cluster: Cluster, cfg: Any, label: str, *, start: bool) -> None:
    """With ``--profile DIR``: cProfile of every process's loop during the load, ``DIR/scale-<label>-<i>.prof``."""
    if cfg.profile_dir is None:
        return
    cfg.profile_dir.mkdir(parents=True, exist_ok=True)
    for index, bot in enumerate(cluster.bots):
        if not bot.alive:
            continue
        if start:
            await bot.command("profile_start")
        else:
            path = (cfg.profile_dir / f"scale-{label}-{index}.prof").resolve()
            await bot.command("profile_stop", path=str(path))
            summarise_profile(path)


async def run_scale(cfg: Any, progress: Progress, results: Any) -> None:
    """Every level, then the ledger on both backends; figures under ``scale``."""
    bindir = find_binaries()
    if bindir is None:
        results.notes.append("scale: no PostgreSQL server installed; only the SQLite process was measured")
    server = PostgresServer(bindir) if bindir is not None else None
    by_level: dict[str, Any] = {}
    ledger: dict[str, Any] = {}
    try:
        if server is not None:
            await asyncio.to_thread(server.start)
        for backend, processes in levels(cfg, server is not None):
            label = f"{backend}-{processes}"
            try:
                by_level[label] = await run_level(cfg, backend, processes, server, progress)
            except Exception as exc:
                results.errors.append(f"scale {label}: {type(exc).__name__}: {exc}")
                progress.note(f"[bench] scale {label} failed: {type(exc).__name__}: {exc}")
        progress.start("scale: ledger", 2 * cfg.ledger_cycles)
        ledger["sqlite"] = await run_ledger(cfg.ledger_cycles, cfg.members, on_progress=progress.update)
        if server is not None:
            url = await server.create_database()
            ledger["postgresql"] = await run_ledger(cfg.ledger_cycles, cfg.members, postgres_url=url)
        progress.finish(", ".join(f"{k} {v['ops_per_s']} ops/s" for k, v in ledger.items()))
    except Exception as exc:
        results.errors.append(f"scale: {type(exc).__name__}: {exc}")
        progress.note(f"[bench] scale failed: {type(exc).__name__}: {exc}")
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)
    results.figures["scale"] = {
        "levels": by_level,
        "scaling": scaling(by_level),
        "ledger_ops_per_s": {k: v["ops_per_s"] for k, v in ledger.items()},
    }
    results.details["scale"] = {
        "bot_settings": settings_for(cfg),
        "lifted": LIFTED,
        "identify": "the fake asks 0.1 s between IDENTIFYs, the bots keep EGGBOT_IDENTIFY_INTERVAL=0.5",
        "ledger": ledger,
    }


def scaling(by_level: dict[str, Any]) -> dict[str, Any]:
    """Each PostgreSQL level's deliveries a second over one PostgreSQL process's, and over SQLite's."""
    one = (by_level.get("postgresql-1") or {}).get("deliveries_per_s")
    lite = (by_level.get("sqlite-1") or {}).get("deliveries_per_s")
    out: dict[str, Any] = {}
    for label, figure in by_level.items():
        if label.startswith("postgresql-"):
            value = figure.get("deliveries_per_s")
            out[label] = {
                "vs_postgresql_1": round(value / one, 2) if value and one else None,
                "vs_sqlite_1": round(value / lite, 2) if value and lite else None,
            }
    return out


def table_rows(scale: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The printed table's rows: one per level, then the ledger on both backends."""
    if not scale:
        return []
    rows = []
    for label, figure in (scale.get("levels") or {}).items():
        cores, per = figure["cpu_cores"], figure["cpu_ms_per_delivery"]
        rows.append(
            (
                f"scale {label}: deliveries/s, ack (ms), cores",
                f"{figure['deliveries_per_s']}/s (offered {figure['offered_per_s']}/s);"
                f" ack p50 {figure['ack_ms']['p50']} / p99 {figure['ack_ms']['p99']};"
                f" bots {cores['bot_processes']} ({per['bot_processes']} ms/delivery), fakes {cores['driver_fakes']},"
                f" db {cores['postgresql'] if cores['postgresql'] is not None else '-'}, machine {cores['machine']}"
                + (f"; {figure['ack_missed_deadline']} acks past 3 s" if figure["ack_missed_deadline"] else ""),
            )
        )
    ledger = scale.get("ledger_ops_per_s") or {}
    if ledger:
        rows.append(("scale: ledger ops/s", ", ".join(f"{k} {v}" for k, v in ledger.items())))
    return rows
