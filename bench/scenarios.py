"""The scenarios. Each drives load through the fakes and writes its figures into ``results``.

Bot groups (one bot process each, fresh fakes and database each):

* ``webhooks`` (EGGBOT_WEBHOOK_* set, production polling): ack latency, delivery with webhooks, burst;
* ``polling`` (production settings, no webhook): delivery with polling, requests per 12 s task;
* ``inflight`` (production settings): 1,000 held tasks, loop lag / CPU / RSS of the bot process;
* ``economy-<strategy>`` (``bench.economy``): the same load under the bot as it ships and under the
  simple strategies (per-task polling every 5 s and every 1 s), one process each, side by side;
* ``scale`` (``bench.scale_out``): 1, 2 and 4 processes on one PostgreSQL beside 1 on SQLite.

The ledger scenario calls the Ledger directly in the driver process once every bot is stopped.
Every bot runs with a high EGGBOT_QUOTA_LIMIT so no request is refused, and with the
production polling defaults (EGGBOT_POLL_INTERVAL_MIN/MAX 2 / 15 s): nothing is tuned for speed.
"""

from __future__ import annotations

import asyncio
import random
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.baselines import STRATEGIES
from bench.economy import GOLDEN, ratios, run_strategy, status_requests_per_task, strategy_env
from bench.harness import TERMINAL, Group, running_group
from bench.ledger_bench import run_ledger
from bench.profiles import summarise_profile
from bench.progress import Progress
from bench.scale_out import run_scale
from bench.stats import summary
from testkit.fake_eggapi import TaskPlan
from testkit.postgres import PostgresServer, find_binaries

ALL_SCENARIOS = ("ack", "delivery", "polling", "inflight", "ledger", "burst", "economy", "scale")
_TASK_PATH = "/v1/tasks/"
_FILE_PATH = "/files/images/"


@dataclass
class Config:
    """Every knob of a run (the CLI fills it; ``--smoke`` shrinks it)."""

    scenarios: tuple[str, ...] = ALL_SCENARIOS
    members: int = 20
    channels: int = 8
    images: int = 1
    fail_rate: float = 0.05
    durations: tuple[float, ...] = (2.0, 4.0, 6.0, 8.0, 10.0, 12.0)
    ack_concurrency: tuple[int, ...] = (1, 10, 50)
    ack_rounds: tuple[int, ...] = (30, 10, 10)
    prompts: int = 40
    rate: float = 4.0
    poll_tasks: int = 3
    poll_duration: float = 12.0
    inflight: int = 1000
    inflight_batch: int = 50
    inflight_window: float = 30.0
    ledger_cycles: int = 2000
    burst: int = 20
    strategies: tuple[str, ...] = STRATEGIES
    economy_inflight: int = 100
    economy_ramp: float = 10.0
    economy_durations: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0)
    economy_window: float = 60.0
    economy_levels: tuple[int, ...] = (100, 1000)
    economy_watch: float = 15.0
    economy_settle: float = 30.0
    scale_processes: tuple[int, ...] = (1, 2, 4)
    scale_rate: float = 120.0
    scale_ramp: float = 10.0
    scale_window: float = 30.0
    scale_duration: float = 1.0
    scale_backlog: float = 5.0
    scale_drain: float = 30.0
    scale_guilds: int = 8
    scale_channels: int = 240
    scale_members: int = 240
    rate_limit: tuple[int, float] = (5, 5.0)
    seed: int = 1
    log_level: str = "INFO"
    profile_dir: Path | None = None
    logs_dir: Path | None = None
    db_counts: bool = False

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
        return out


@dataclass
class Results:
    figures: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def base_env(cfg: Config) -> dict[str, str]:
    """Bot settings shared by every group: production defaults except a quota nobody reaches."""
    return {"EGGBOT_QUOTA_LIMIT": "1000000", "LOG_LEVEL": cfg.log_level}


def _plan(
    rng: random.Random, cfg: Config, duration: float | None, *, hold: bool = False, failures: bool = True
) -> TaskPlan:
    failed = failures and rng.random() < cfg.fail_rate
    return TaskPlan(outcome="failed" if failed else "completed", duration=duration, hold=hold)


async def _profiled(group: Group, cfg: Config, name: str, coro: Any) -> Any:
    """Run ``coro`` with cProfile on in the bot process when ``--profile`` is given."""
    if cfg.profile_dir is None:
        return await coro
    cfg.profile_dir.mkdir(parents=True, exist_ok=True)
    await group.bot.command("profile_start")
    try:
        return await coro
    finally:
        if group.bot.alive:
            path = (cfg.profile_dir / f"{name}.prof").resolve()
            await group.bot.command("profile_stop", path=str(path))
            summarise_profile(path)


def _violations(group: Group, label: str, results: Results) -> None:
    """Discord rules the bot broke, unimplemented routes, and ERROR/WARNING lines in the bot's log."""
    try:
        lines = group.bot.log_path.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    errors = [line for line in lines if " ERROR " in line or " CRITICAL " in line]
    warnings = sum(1 for line in lines if " WARNING " in line)
    results.details.setdefault("bot_log", {})[label] = {
        "errors": len(errors),
        "warnings": warnings,
        "first_errors": errors[:3],
    }
    fake = group.world.fake
    kinds = Counter(v.kind for v in fake.violations)
    results.details.setdefault("discord_violations", {})[label] = dict(kinds)
    if fake.unexpected_routes:
        results.notes.append(f"{label}: unimplemented Discord routes called: {sorted(set(fake.unexpected_routes))}")
    if group.eggapi.violations:
        results.notes.append(f"{label}: EggAPI fake violations: {group.eggapi.violations[:3]}")


def _accepted(handles: list[Any]) -> list[Any]:
    """The interactions the bot answered with a visible status message (not an ephemeral refusal)."""
    return [h for h in handles if h.callback is not None and not h.callback.flags & 64]


def _refusals(handles: list[Any]) -> Counter[str]:
    out: Counter[str] = Counter()
    for h in handles:
        if h.callback is not None and h.callback.flags & 64:
            out[str((h.callback.data or {}).get("content", ""))[:80]] += 1
    return out


def _egg_requests(group: Group, since: int = 0, prefix: str = "") -> tuple[Counter[str], Counter[str], int]:
    """(status GETs per EggAPI task id, file GETs per task id, POST /v1/generate count for prompts
    starting with ``prefix``) since request index ``since``."""
    gets: Counter[str] = Counter()
    files: Counter[str] = Counter()
    posts = 0
    for record in group.eggapi.requests[since:]:
        if record.method == "POST" and record.path == "/v1/generate":
            prompt = record.json.get("prompt") if isinstance(record.json, dict) else None
            posts += isinstance(prompt, str) and prompt.startswith(prefix)
        elif record.method == "GET" and record.path.startswith(_TASK_PATH):
            gets[record.path[len(_TASK_PATH) :]] += 1
        elif record.method == "GET" and record.path.startswith(_FILE_PATH):
            files[record.path[len(_FILE_PATH) :].split("/")[0]] += 1
    return gets, files, posts


# ---------------------------------------------------------------------------------------------- ack


async def scenario_ack(group: Group, cfg: Config, progress: Progress, results: Results) -> None:
    """N concurrent /imagine, N in ``ack_concurrency``; each round runs to completion before the next."""
    fake, eggapi = group.world.fake, group.eggapi
    rng = random.Random(cfg.seed)
    channels = group.world.channels_by_set["ack"]
    members = group.world.members
    total = sum(c * r for c, r in zip(cfg.ack_concurrency, cfg.ack_rounds, strict=True))
    progress.start("ack latency", total)
    figures: dict[str, Any] = {}
    refused: Counter[str] = Counter()
    slot = 0
    for concurrency, rounds in zip(cfg.ack_concurrency, cfg.ack_rounds, strict=True):
        latencies: list[float] = []
        round_max: list[float] = []
        timed: list[Any] = []
        bot_cpu, driver_cpu = (await group.bot.command("stats"))["cpu_s"], _own_cpu()
        for rnd in range(rounds):
            prefix = f"bench ack c{concurrency} r{rnd} j"
            jobs = []
            for i in range(concurrency):
                prompt = f"bench ack c{concurrency} r{rnd} j{i}"
                # Finished 50 ms after submit upstream; with webhooks the round then ends in well under a second.
                eggapi.plan_for(prompt, _plan(rng, cfg, 0.05))
                jobs.append(
                    fake.slash(
                        members[slot % len(members)],
                        channels[slot % len(channels)],
                        "imagine",
                        prompt=prompt,
                        count=cfg.images,
                    )
                )
                slot += 1
            handles = await asyncio.gather(*jobs)
            await asyncio.gather(*(h.wait_ack(timeout=10) for h in handles))
            accepted = _accepted(handles)
            refused.update(_refusals(handles))
            this_round = [h.ack_latency for h in accepted if h.ack_latency is not None]
            latencies += this_round
            round_max.append(round(max(this_round, default=0.0) * 1000, 1))
            timed += accepted
            await group.wait_tasks(prefix, TERMINAL, len(accepted), timeout=60 + 10 * concurrency)
            progress.advance(concurrency)
        figure = summary(latencies, scale=1000, digits=1)
        jobs_done = max(1, len(timed))
        bot_cpu_used = (await group.bot.command("stats"))["cpu_s"] - bot_cpu
        figure["bot_cpu_ms_per_job"] = round(bot_cpu_used / jobs_done * 1000, 2)
        figure["fakes_cpu_ms_per_job"] = round((_own_cpu() - driver_cpu) / jobs_done * 1000, 2)
        figure["breakdown_ms"] = _ack_breakdown(group, timed)
        figure["round_max_ms"] = round_max
        figures[str(concurrency)] = figure
    if refused:
        results.notes.append(f"ack: {sum(refused.values())} /imagine refused (not timed): {dict(refused)}")
    results.figures["ack_latency_ms"] = figures
    progress.finish(" ".join(f"c{c}: p99 {v['p99']} ms" for c, v in figures.items()))


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _ack_breakdown(group: Group, handles: list[Any]) -> dict[str, Any]:
    """Where the ack time goes: fake dispatch -> bot sees it -> bot sends the callback -> fake receives it."""
    transit, handling, back = [], [], []
    for h in handles:
        times = group.bot.acks.get(h.id)
        if times is None or h.ack_latency is None:
            continue
        received, sent, _answered = times
        arrived = h.dispatched_at + h.ack_latency
        if received is not None:
            transit.append(received - h.dispatched_at)
            if sent is not None:
                handling.append(sent - received)
        if sent is not None:
            back.append(arrived - sent)
    return {
        "dispatch_to_bot": summary(transit, scale=1000, digits=1),
        "bot_handling": summary(handling, scale=1000, digits=1),
        "callback_to_fake": summary(back, scale=1000, digits=1),
    }


# ------------------------------------------------------------------------------------------ delivery


async def scenario_delivery(group: Group, cfg: Config, progress: Progress, results: Results, mode: str) -> None:
    """``prompts`` jobs at ``rate`` per second over the delivery channels; overhead = upstream done → posted."""
    fake, eggapi, bot = group.world.fake, group.eggapi, group.bot
    rng = random.Random(cfg.seed + 1)
    channels = group.world.channels_by_set["delivery"]
    members = group.world.members
    n = cfg.prompts
    prefix = f"bench delivery {mode} j"
    since = len(eggapi.requests)
    progress.start(f"delivery ({mode})", n)
    loop = asyncio.get_running_loop()
    start = loop.time()
    handles = []
    for i in range(n):
        prompt = f"bench delivery {mode} j{i}"
        # Plus a fraction of a second spread evenly: whole seconds at a steady rate would line every
        # finish up with the same phase of the bot's once-a-second reads of the task list.
        duration = cfg.durations[i % len(cfg.durations)] + (i * GOLDEN) % 1.0
        eggapi.plan_for(prompt, _plan(rng, cfg, duration))
        handles.append(
            await fake.slash(
                members[i % len(members)], channels[i % len(channels)], "imagine", prompt=prompt, count=cfg.images
            )
        )
        progress.update(group.count(prefix, TERMINAL))
        await asyncio.sleep(max(0.0, start + (i + 1) / cfg.rate - loop.time()))
    await asyncio.gather(*(h.wait_ack(timeout=10) for h in handles))
    accepted = len(_accepted(handles))
    await group.wait_tasks(
        prefix, TERMINAL, accepted, timeout=120 + max(cfg.durations) * 2, on_progress=progress.update
    )
    await asyncio.sleep(0.2)  # let the last status edits land
    rows = group.db_rows()
    posts = group.posts(rows)
    gets, _files, _posts = _egg_requests(group, since)
    overhead, detect, work, status_gets = [], [], [], []
    outcomes: Counter[str] = Counter()
    for tid in group.ids(prefix):
        times, row = bot.tasks[tid], rows.get(tid, {})
        outcomes[times.terminal or "unfinished"] += 1
        egg = row.get("egg_task_id")
        done = eggapi.finished_at.get(egg or "")
        if egg:
            status_gets.append(gets[egg])
        if done is None or times.terminal != "delivered":
            continue
        if tid in posts:
            overhead.append(posts[tid] - done)
        if "completed" in times.at:
            detect.append(times.at["completed"] - done)
            work.append(times.at["delivered"] - times.at["completed"])
    figure = summary(overhead, scale=1000, digits=1)
    figure.update(
        {
            "jobs": n,
            "refused": n - accepted,
            "outcomes": dict(outcomes),
            "status_gets_per_task_mean": round(sum(status_gets) / len(status_gets), 2) if status_gets else None,
            "upstream_done_to_bot_completed_ms": summary(detect, scale=1000, digits=1),
            "bot_completed_to_delivered_ms": summary(work, scale=1000, digits=1),
        }
    )
    results.figures.setdefault("delivery_overhead_ms", {})[mode] = figure
    progress.finish(f"p50 {figure['p50']} ms, p99 {figure['p99']} ms")


# ------------------------------------------------------------------------------------------- polling


async def scenario_polling(group: Group, cfg: Config, progress: Progress, results: Results) -> None:
    """``poll_tasks`` tasks of ``poll_duration`` s at once, production polling: requests and delay per task."""
    fake, eggapi = group.world.fake, group.eggapi
    channels = group.world.channels_by_set["probe"]
    n = cfg.poll_tasks
    prefix = "bench polling j"
    since = len(eggapi.requests)
    progress.start(f"{cfg.poll_duration:g} s task, polling", n)
    for i in range(n):
        eggapi.plan_for(f"bench polling j{i}", TaskPlan(duration=cfg.poll_duration))
    handles = await asyncio.gather(
        *(
            fake.slash(
                group.world.members[i % len(group.world.members)],
                channels[i % len(channels)],
                "imagine",
                prompt=f"bench polling j{i}",
                count=cfg.images,
            )
            for i in range(n)
        )
    )
    await asyncio.gather(*(h.wait_ack(timeout=10) for h in handles))
    await group.wait_tasks(
        prefix, TERMINAL, len(_accepted(handles)), timeout=cfg.poll_duration * 3 + 60, on_progress=progress.update
    )
    rows = group.db_rows()
    posts = group.posts(rows)
    gets, files, generate_posts = _egg_requests(group, since, prefix)
    shared = status_requests_per_task(group, since)  # its GETs plus its share of the list pages read meanwhile
    per_task, delays = [], []
    for tid in group.ids(prefix):
        egg = rows.get(tid, {}).get("egg_task_id")
        if not egg:
            continue
        done = eggapi.finished_at.get(egg)
        delay = posts[tid] - done if tid in posts and done is not None else None
        if delay is not None:
            delays.append(delay)
        per_task.append(
            {
                "egg_task_id": egg,
                "status_gets": gets[egg],
                "status_requests": round(shared.get(tid, 0.0), 2),
                "file_gets": files[egg],
                "delay_s": delay,
            }
        )
    first = next((r for r in rows.values() if r["prompt"] == prefix + "0" and r.get("egg_task_id")), None)
    poll_times = _poll_offsets(group, since, prefix + "0", first["egg_task_id"]) if first else []
    status_requests = [t["status_requests"] for t in per_task]
    file_gets = [t["file_gets"] for t in per_task]
    results.figures["poll_requests"] = {
        "task_duration_s": cfg.poll_duration,
        "tasks": n,
        "post_per_task": round(generate_posts / n, 2) if n else None,
        "get_status_per_task": max(status_requests) if status_requests else None,
        "status_gets_per_task": max(t["status_gets"] for t in per_task) if per_task else None,
        "get_download_per_task": max(file_gets) if file_gets else None,
        "get_total_per_task": round(max(s + f for s, f in zip(status_requests, file_gets, strict=True)), 2)
        if status_requests
        else None,
        "delivery_delay_s": summary(delays, digits=2),
        "poll_offsets_s": poll_times,
        "per_task": per_task,
    }
    progress.finish(
        f"{max(status_requests) if status_requests else '?'} status requests, "
        f"delay {summary(delays, digits=2)['max']} s"
    )


def _poll_offsets(group: Group, since: int, prompt: str, egg: str) -> list[float]:
    """Seconds from the submit (POST) of ``prompt`` to each status GET of its EggAPI task ``egg``."""
    submit_at: float | None = None
    offsets: list[float] = []
    requests = group.eggapi.requests
    for record, at in zip(requests[since:], requests.stamps[since:], strict=True):
        if record.method == "POST" and record.path == "/v1/generate" and isinstance(record.json, dict):
            if submit_at is None and record.json.get("prompt") == prompt:
                submit_at = at
        elif submit_at is not None and record.method == "GET" and record.path == _TASK_PATH + egg:
            offsets.append(round(at - submit_at, 2))
    return offsets


# ------------------------------------------------------------------------------------------ inflight


async def scenario_inflight(group: Group, cfg: Config, progress: Progress, results: Results) -> None:
    """``inflight`` held tasks: ramp them up, then watch the bot process for ``inflight_window`` seconds."""
    fake, eggapi, bot = group.world.fake, group.eggapi, group.bot
    channels = group.world.channels_by_set["delivery"]
    members = group.world.members
    n = cfg.inflight
    for i in range(n):
        eggapi.plan_for(f"bench inflight j{i}", TaskPlan(hold=True))
    baseline = await bot.command("mark")
    prefix = "bench inflight j"
    progress.start(f"{n} in flight: ramp", n)
    acks: list[float] = []
    accepted = 0
    refused: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    ramp_start = loop.time()
    for start in range(0, n, cfg.inflight_batch):
        batch = range(start, min(n, start + cfg.inflight_batch))
        handles = await asyncio.gather(
            *(
                fake.slash(
                    members[i % len(members)],
                    channels[i % len(channels)],
                    "imagine",
                    prompt=f"bench inflight j{i}",
                    count=cfg.images,
                )
                for i in batch
            )
        )
        await asyncio.gather(*(h.wait_ack(timeout=10) for h in handles))
        ok = _accepted(handles)
        accepted += len(ok)
        refused.update(_refusals(handles))
        acks += [h.ack_latency for h in ok if h.ack_latency is not None]
        progress.update(group.count(prefix, {"running"}))
    await group.wait_tasks(prefix, {"running"}, accepted, timeout=120 + n / 10, on_progress=progress.update)
    if refused:
        results.notes.append(f"inflight: {sum(refused.values())} /imagine refused: {dict(refused)}")
    ramp_seconds = loop.time() - ramp_start
    ramp = await bot.command("mark")
    progress.finish(f"{n} running after {ramp_seconds:.1f} s")

    progress.start(f"{n} in flight: watch", int(cfg.inflight_window))
    requests_before, discord_before = len(eggapi.requests), len(fake.requests)
    window_start = loop.time()
    while loop.time() - window_start < cfg.inflight_window:
        await asyncio.sleep(min(1.0, cfg.inflight_window))
        progress.update(int(loop.time() - window_start))
    window = await bot.command("stats")
    window_seconds = loop.time() - window_start
    window_requests = eggapi.requests[requests_before:]
    gets = sum(
        1 for r in window_requests if r.method == "GET" and (r.path == "/v1/tasks" or r.path.startswith(_TASK_PATH))
    )
    edits = sum(1 for r in fake.requests[discord_before:] if r.method == "PATCH")
    still_running = group.count(prefix, {"running"}) - group.count(prefix, TERMINAL | {"completed"})
    mb = 1 / 1024
    results.figures["inflight"] = {
        "tasks": n,
        "running_in_window": still_running,
        "window_s": round(window_seconds, 1),
        "loop_lag_ms": {
            "n": window["lag_n"],
            "p50": window["lag_p50_ms"],
            "p99": window["lag_p99_ms"],
            "max": window["lag_max_ms"],
        },
        "ramp_loop_lag_ms": {
            "n": ramp["lag_n"],
            "p50": ramp["lag_p50_ms"],
            "p99": ramp["lag_p99_ms"],
            "max": ramp["lag_max_ms"],
        },
        "cpu_s": {
            "ramp": round(ramp["cpu_s"] - baseline["cpu_s"], 2),
            "window": round(window["cpu_s"] - ramp["cpu_s"], 2),
            "window_utilisation": round((window["cpu_s"] - ramp["cpu_s"]) / window_seconds, 3),
            "process_total": round(window["cpu_s"], 2),
        },
        "rss_mb": {
            "baseline": _mb(baseline["rss_kb"], mb),
            "peak": _mb(window["hwm_kb"] or window["maxrss_kb"], mb),
            "end": _mb(window["rss_kb"], mb),
        },
        "ramp_s": round(ramp_seconds, 1),
        "ramp_ack_ms": summary(acks, scale=1000, digits=1),
        "status_requests_per_s": round(gets / window_seconds, 1),
        "eggapi_requests_per_s": round(len(window_requests) / window_seconds, 1),
        "status_edits_per_s": round(edits / window_seconds, 1),
        "asyncio_tasks": window["asyncio_tasks"],
    }
    progress.finish(f"lag p99 {window['lag_p99_ms']} ms, peak RSS {_mb(window['hwm_kb'], mb)} MB")


# ------------------------------------------------------------------------------------------- economy


async def run_economy(cfg: Config, progress: Progress, results: Results) -> None:
    """One bot process per strategy, cold, the same load each (``bench.economy``); then the ratios."""
    by_strategy: dict[str, dict[str, Any]] = {}
    for strategy in cfg.strategies:
        label = f"economy-{strategy}"
        progress.note(f"[bench] starting the bot ({label})")
        settings = {**base_env(cfg), **strategy_env(strategy, cfg)}
        results.details.setdefault("bot_settings", {})[label] = dict(settings, webhooks="false")
        try:
            async with running_group(
                members=cfg.members,
                channel_sets={"economy": max(1, cfg.channels)},
                env=settings,
                webhooks=False,
                rate_limit=cfg.rate_limit,
                keep_dir=cfg.logs_dir / label if cfg.logs_dir else None,
            ) as group:
                try:
                    by_strategy[strategy] = await _profiled(
                        group, cfg, label, run_strategy(group, cfg, progress, strategy)
                    )
                except Exception as exc:
                    results.errors.append(f"{label}: {type(exc).__name__}: {exc}\n{group.bot.log_tail(15)}")
                    progress.note(f"[bench] {label} failed: {type(exc).__name__}: {exc}")
                _violations(group, label, results)
        except Exception as exc:
            results.errors.append(f"{label} group: {type(exc).__name__}: {exc}")
            progress.note(f"[bench] {label} group failed: {type(exc).__name__}: {exc}")
    results.figures["economy"] = {"strategies": by_strategy, "ratios": ratios(by_strategy)}


def _mb(kb: int | None, factor: float) -> float | None:
    return None if kb is None else round(kb * factor, 1)


# --------------------------------------------------------------------------------------------- burst


async def scenario_burst(group: Group, cfg: Config, progress: Progress, results: Results) -> None:
    """``burst`` held jobs in one channel finish at the same instant; Discord allows 5 posts / 5 s there.

    One more job, in another channel, finishes 0.2 s later: its delay shows whether the burst
    holds up delivery elsewhere.
    """
    fake, eggapi = group.world.fake, group.eggapi
    burst_channel = group.world.channels_by_set["burst"][0]
    other_channel = group.world.channels_by_set["burst"][1]
    members = group.world.members
    n = cfg.burst
    prefix = "bench burst "
    progress.start(f"burst of {n}", n + 1)
    for i in range(n):
        eggapi.plan_for(f"bench burst j{i}", TaskPlan(hold=True))
    eggapi.plan_for("bench burst other", TaskPlan(hold=True))
    handles = await asyncio.gather(
        *(
            fake.slash(
                members[i % len(members)], burst_channel, "imagine", prompt=f"bench burst j{i}", count=cfg.images
            )
            for i in range(n)
        )
    )
    handles.append(await fake.slash(members[0], other_channel, "imagine", prompt="bench burst other", count=cfg.images))
    await asyncio.gather(*(h.wait_ack(timeout=10) for h in handles))
    if len(_accepted(handles)) != n + 1:
        raise RuntimeError(f"the bot refused part of the burst: {dict(_refusals(handles))}")
    await group.wait_tasks(prefix, {"running"}, n + 1, timeout=60)
    rows = group.db_rows()
    ids = group.ids(prefix)
    in_burst = [t for t in ids if rows[t]["channel_id"] == burst_channel.id]
    other = [t for t in ids if rows[t]["channel_id"] == other_channel.id]
    requests_before = len(fake.requests)
    t0 = time.monotonic()
    for tid in in_burst:
        eggapi.finish(rows[tid]["egg_task_id"])
    await asyncio.sleep(0.2)
    t_other = time.monotonic()
    for tid in other:
        eggapi.finish(rows[tid]["egg_task_id"])
    await group.wait_tasks(prefix, TERMINAL, n + 1, timeout=60 + 2 * n, on_progress=progress.update)
    rows = group.db_rows()
    posts = group.posts(rows)
    messages = {m for t in in_burst for m in rows[t]["result_message_ids"]}
    burst_posts = sorted(posts[t] - t0 for t in in_burst if t in posts)
    limited = sum(1 for r in fake.requests[requests_before:] if r.status == 429)
    limit, per = cfg.rate_limit
    results.figures["burst"] = {
        "jobs": n,
        "rate_limit": f"{limit} per {per:g} s per channel",
        "posted": len(burst_posts),
        "all_posted_s": round(burst_posts[-1], 2) if len(burst_posts) == len(in_burst) and burst_posts else None,
        "first_posted_s": round(burst_posts[0], 2) if burst_posts else None,
        "post_times_s": [round(x, 2) for x in burst_posts],
        "result_messages": len(messages),
        "discord_429s": limited,
        "other_channel_delay_s": round(posts[other[0]] - t_other, 2) if other and other[0] in posts else None,
        "completion_signal": "webhooks" if group.webhooks else "polling",
    }
    progress.finish(f"all posted after {results.figures['burst']['all_posted_s']} s")


# ------------------------------------------------------------------------------------------- running


async def run_all(cfg: Config, progress: Progress) -> Results:
    results = Results()
    want = set(cfg.scenarios)
    delivery_channels = max(1, cfg.channels)
    ack_channels = 2 * max(cfg.ack_concurrency) if "ack" in want else 1

    async def group_run(
        label: str, *, webhooks: bool, channel_sets: dict[str, int], steps: list[Any], env: dict[str, str] | None = None
    ) -> None:
        progress.note(f"[bench] starting the bot ({label})")
        settings = {**base_env(cfg), **(env or {})}
        results.details.setdefault("bot_settings", {})[label] = dict(settings, webhooks=str(webhooks).lower())
        try:
            async with running_group(
                members=cfg.members,
                channel_sets=channel_sets,
                env=settings,
                webhooks=webhooks,
                rate_limit=cfg.rate_limit,
                keep_dir=cfg.logs_dir / label if cfg.logs_dir else None,
            ) as group:
                if webhooks and not group.webhooks:
                    results.notes.append("webhooks: the bot did not start a webhook receiver; not available")
                for name, step in steps:
                    try:
                        await _profiled(group, cfg, name, step(group))
                    except Exception as exc:
                        results.errors.append(f"{name}: {type(exc).__name__}: {exc}\n{group.bot.log_tail(15)}")
                        progress.note(f"[bench] {name} failed: {type(exc).__name__}: {exc}")
                _violations(group, label, results)
        except Exception as exc:
            results.errors.append(f"{label} group: {type(exc).__name__}: {exc}")
            progress.note(f"[bench] {label} group failed: {type(exc).__name__}: {exc}")

    webhook_steps: list[Any] = []
    if "ack" in want:
        webhook_steps.append(("ack", lambda g: scenario_ack(g, cfg, progress, results)))
    if "delivery" in want:

        async def delivery_webhooks(g: Group) -> None:
            if not g.webhooks:
                results.figures.setdefault("delivery_overhead_ms", {})["webhooks"] = {"status": "not available"}
                return
            await scenario_delivery(g, cfg, progress, results, "webhooks")

        webhook_steps.append(("delivery_webhooks", delivery_webhooks))
    if "burst" in want:
        webhook_steps.append(("burst", lambda g: scenario_burst(g, cfg, progress, results)))
    if webhook_steps:
        # Caps that would otherwise keep part of the burst queued in the bot (20 running, 3 per member).
        caps = (
            {
                "EGGBOT_MAX_RUNNING_TOTAL": str(max(20, cfg.burst + 1)),
                "EGGBOT_MAX_RUNNING_PER_MEMBER": str(max(3, cfg.burst + 1)),
            }
            if "burst" in want
            else {}
        )
        await group_run(
            "webhooks",
            webhooks=True,
            steps=webhook_steps,
            env=caps,
            channel_sets={"ack": ack_channels, "delivery": delivery_channels, "burst": 2},
        )

    polling_steps: list[Any] = []
    if "delivery" in want or "polling" in want:

        async def polling_group(g: Group) -> None:
            # The 12 s probe runs beside the delivery load, in channels of its own, without a bar of its own.
            runs = []
            if "delivery" in want:
                runs.append(scenario_delivery(g, cfg, progress, results, "polling"))
            if "polling" in want:
                quiet = progress if "delivery" not in want else Progress(enabled=False)
                runs.append(scenario_polling(g, cfg, quiet, results))
            outcomes = await asyncio.gather(*runs, return_exceptions=True)
            failures = [o for o in outcomes if isinstance(o, BaseException)]
            if failures:
                raise failures[0]

        polling_steps.append(("polling", polling_group))
    if polling_steps:
        await group_run(
            "polling",
            webhooks=False,
            steps=polling_steps,
            channel_sets={"delivery": delivery_channels, "probe": max(1, cfg.poll_tasks)},
        )

    if "inflight" in want:
        # "In flight" means running upstream and followed by the tracker: lift the admission caps.
        caps = {
            name: str(cfg.inflight)
            for name in ("EGGBOT_MAX_RUNNING_TOTAL", "EGGBOT_MAX_RUNNING_PER_MEMBER", "EGGBOT_MAX_QUEUED_PER_MEMBER")
        }
        await group_run(
            "inflight",
            webhooks=False,
            channel_sets={"delivery": delivery_channels},
            env=caps,
            steps=[("inflight", lambda g: scenario_inflight(g, cfg, progress, results))],
        )

    if "economy" in want:
        await run_economy(cfg, progress, results)

    if "scale" in want:
        await run_scale(cfg, progress, results)

    if "ledger" in want:
        progress.start("ledger reserve+settle", cfg.ledger_cycles)
        try:
            profile = cfg.profile_dir / "ledger.prof" if cfg.profile_dir else None
            if profile is not None:
                cfg.profile_dir.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
            figure = await run_ledger(cfg.ledger_cycles, cfg.members, profile_path=profile, on_progress=progress.update)
            if profile is not None:
                summarise_profile(profile)
            results.figures["ledger"] = figure
            progress.finish(f"{figure['ops_per_s']} ops/s")
        except Exception as exc:
            results.errors.append(f"ledger: {type(exc).__name__}: {exc}")
            progress.note(f"[bench] ledger failed: {type(exc).__name__}: {exc}")
        await ledger_on_postgres(cfg, progress, results)
    return results


async def ledger_on_postgres(cfg: Config, progress: Progress, results: Results) -> None:
    """The same ledger run on a throwaway local PostgreSQL server, beside SQLite's (skipped without one)."""
    bindir = find_binaries()
    if bindir is None:
        progress.note("[bench] ledger on PostgreSQL skipped: no PostgreSQL server installed")
        return
    progress.start("ledger reserve+settle on PostgreSQL", cfg.ledger_cycles)
    server = PostgresServer(bindir)
    try:
        await asyncio.to_thread(server.start)
        url = await server.create_database()
        figure = await run_ledger(cfg.ledger_cycles, cfg.members, on_progress=progress.update, postgres_url=url)
        results.figures["ledger_postgres"] = figure
        progress.finish(f"{figure['ops_per_s']} ops/s")
    except Exception as exc:
        results.errors.append(f"ledger on PostgreSQL: {type(exc).__name__}: {exc}")
        progress.note(f"[bench] ledger on PostgreSQL failed: {type(exc).__name__}: {exc}")
    finally:
        await asyncio.to_thread(server.stop)
