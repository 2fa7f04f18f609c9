"""The request economy, side by side: the bot as it ships against the simple strategies, same load.

One bot process per strategy (``bench.baselines``: ``ours``, ``per-task-5s``, ``per-task-1s``),
each with fresh fakes and a fresh database, so every one starts cold. Each runs:

* **delivery**: about ``economy_inflight`` (100) jobs kept in flight for ``economy_window`` seconds
  (reached at ``economy_ramp`` new jobs a second, then a new /imagine as soon as one ends), their
  EggAPI durations cycling through ``economy_durations`` (2 to 60 s, each plus a fraction of a
  second spread evenly, so finishes do not line up with any strategy's polls); then the driver
  waits for the last ones. Measured: the delay from EggAPI finishing a task to its images reaching
  the channel, per duration (p50/p99), and EggAPI requests per delivered image (all of them, and
  the status requests alone: task GETs and list pages; submits and downloads cost every strategy
  the same);
* **held**: ``economy_levels`` (100, then 1,000) jobs held upstream, never finishing; once all
  run, and the status edits of the ramp were sent (``economy_settle`` seconds at most: each job's
  message changes from "Queued" once, at most 3 edits per 5 s a channel), ``economy_watch``
  seconds of steady state: EggAPI requests a second and Discord edits a second (PATCHes of status
  messages).

Every figure of a baseline is also given as a ratio to ours (``economy.ratios``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from bench.baselines import BASELINE_ENV, STRATEGIES, interval_of
from bench.harness import TERMINAL, Group
from bench.progress import Progress
from bench.stats import summary
from testkit.fake_eggapi import RecordedRequest, TaskPlan

_TASK_PATH = "/v1/tasks/"
_LIST_PATH = "/v1/tasks"
_FILE_PATH = "/files/images/"
GOLDEN = 0.6180339887  # spreads the jitter of task durations evenly over a second


def kind(record: RecordedRequest) -> str:
    """What an EggAPI request was for: submit, status (a task GET or a list page), download, other."""
    if record.method == "POST" and record.path == "/v1/generate":
        return "submit"
    if record.method == "GET" and (record.path == _LIST_PATH or record.path.startswith(_TASK_PATH)):
        return "status"
    if record.path.startswith(_FILE_PATH):
        return "download"
    return "other"


def status_requests_per_task(group: Group, since: int = 0) -> dict[int, float]:
    """Bot task id -> the status requests spent on it: GETs of its EggAPI task, plus its share of each
    list page read while it ran (a page is shared equally by every task of the bot running then)."""
    rows = group.db_rows()
    egg_of = {tid: row.get("egg_task_id") for tid, row in rows.items()}
    spans: dict[int, tuple[float, float]] = {}
    for tid, times in group.bot.tasks.items():
        start = times.at.get("running")
        if start is not None:
            end = times.at.get("completed") or min((times.at[s] for s in TERMINAL if s in times.at), default=None)
            spans[tid] = (start, end if end is not None else float("inf"))
    owner: dict[str, int] = {egg: tid for tid, egg in egg_of.items() if egg}
    spent: Counter[int] = Counter()
    shares: dict[int, float] = {}
    for record in group.eggapi.requests[since:]:
        if record.method != "GET":
            continue
        if record.path.startswith(_TASK_PATH):
            asked = owner.get(record.path[len(_TASK_PATH) :])
            if asked is not None:
                spent[asked] += 1
        elif record.path == _LIST_PATH:
            running = [tid for tid, (start, end) in spans.items() if start <= record.at <= end]
            for tid in running:
                shares[tid] = shares.get(tid, 0.0) + 1 / len(running)
    return {tid: spent[tid] + shares.get(tid, 0.0) for tid in set(spent) | set(shares)}


def _count(records: Iterable[RecordedRequest]) -> Counter[str]:
    return Counter(kind(r) for r in records)


async def economy_delivery(group: Group, cfg: Any, progress: Progress, strategy: str) -> dict[str, Any]:
    """Keep ~``economy_inflight`` jobs in flight for ``economy_window`` s, then let them finish."""
    fake, eggapi, bot = group.world.fake, group.eggapi, group.bot
    channels = group.world.channels_by_set["economy"]
    members = group.world.members
    durations: tuple[float, ...] = cfg.economy_durations
    target, window = cfg.economy_inflight, cfg.economy_window
    prefix = "bench economy j"
    since, edits_since = len(eggapi.requests), len(fake.requests)
    duration_of: dict[str, float] = {}
    progress.start(f"{strategy}: {target} in flight, {window:g} s", int(window))
    loop = asyncio.get_running_loop()
    started = loop.time()
    submitted, refused = 0, 0
    handles = []
    while loop.time() - started < window:
        done = group.count(prefix, TERMINAL)
        # Up to ``economy_ramp`` new jobs a second at first (then one for each that ends): a hundred
        # /imagine in the same instant is a burst, not the load of a hundred in flight.
        ramp_cap = target if cfg.economy_ramp <= 0 else int((loop.time() - started) * cfg.economy_ramp) + 1
        while submitted - done < target and (submitted >= target or submitted < ramp_cap):
            prompt = f"{prefix}{submitted}"
            duration_of[prompt] = durations[submitted % len(durations)]
            # A fraction of a second more, spread evenly: whole seconds would line finishes up with
            # the polls of a strategy that polls every whole second from the submit.
            jitter = (submitted * GOLDEN) % 1.0
            eggapi.plan_for(prompt, TaskPlan(duration=duration_of[prompt] + jitter))
            handles.append(
                await fake.slash(
                    members[submitted % len(members)], channels[submitted % len(channels)], "imagine", prompt=prompt
                )
            )
            submitted += 1
        progress.update(int(loop.time() - started))

        def one_more_ended(before: int = done) -> bool:
            return group.count(prefix, TERMINAL) > before

        ramping = submitted < target
        wait = 1 / cfg.economy_ramp if ramping and cfg.economy_ramp > 0 else window - (loop.time() - started)
        try:
            await bot.wait_until(one_more_ended, max(0.05, min(wait, window - (loop.time() - started))), "a job")
        except TimeoutError:
            if loop.time() - started >= window:
                break
    window_end = loop.time()
    await asyncio.gather(*(h.wait_ack(timeout=30) for h in handles))
    accepted = [h for h in handles if h.callback is not None and not h.callback.flags & 64]
    refused = len(handles) - len(accepted)
    await group.wait_tasks(prefix, TERMINAL, len(accepted), timeout=max(durations) * 2 + 120)
    progress.finish(f"{submitted} jobs")
    rows = group.db_rows()
    posts = group.posts(rows)
    delays: dict[float, list[float]] = {d: [] for d in durations}
    found, handed = [], []
    slowest: list[tuple[float, dict[str, Any]]] = []
    images = 0
    for tid in group.ids(prefix):
        row = rows.get(tid, {})
        egg, done_at = row.get("egg_task_id"), eggapi.finished_at.get(row.get("egg_task_id") or "")
        if row.get("status") != "delivered" or tid not in posts or done_at is None or egg is None:
            continue
        images += len(json.loads(row.get("output_urls") or "[]"))
        delays[duration_of[row["prompt"]]].append(posts[tid] - done_at)
        completed = bot.tasks[tid].at.get("completed") if tid in bot.tasks else None
        if completed is not None:
            found.append(completed - done_at)
            handed.append(posts[tid] - completed)
            slowest.append(
                (
                    posts[tid] - done_at,
                    {
                        "task": tid,
                        "duration_s": duration_of[row["prompt"]],
                        "found_s": round(completed - done_at, 3),
                        "posted_s": round(posts[tid] - completed, 3),
                        "channel": row.get("channel_id"),
                    },
                )
            )
    requests = eggapi.requests[since:]
    kinds = _count(requests)
    in_window = sum(1 for r in requests if started <= r.at <= window_end)
    edits = sum(1 for r in fake.requests[edits_since:] if r.method == "PATCH")
    every = [x for values in delays.values() for x in values]
    return {
        "jobs": submitted,
        "refused": refused,
        "images": images,
        "delay_s": summary(every, digits=2),
        "delay_s_by_duration": {f"{d:g}": summary(v, digits=2) for d, v in delays.items()},
        "worst_p99_s": max((summary(v, digits=2)["p99"] for v in delays.values() if v), default=None),
        "done_to_found_s": summary(found, digits=2),  # EggAPI finished -> the bot recorded it completed
        "found_to_posted_s": summary(handed, digits=2),
        "slowest": [detail for _, detail in sorted(slowest, key=lambda item: -item[0])[:5]],
        "requests": dict(kinds),
        "requests_per_image": round(sum(kinds.values()) / images, 2) if images else None,
        "status_requests_per_image": round(kinds["status"] / images, 3) if images else None,
        "requests_per_s_while_kept_in_flight": round(in_window / (window_end - started), 2),
        "discord_edits_per_image": round(edits / images, 2) if images else None,
    }


async def economy_held(group: Group, cfg: Any, progress: Progress, level: int, held: int) -> dict[str, Any]:
    """Ramp the held jobs up to ``level`` (``held`` already run), then watch ``economy_watch`` seconds."""
    fake, eggapi, bot = group.world.fake, group.eggapi, group.bot
    channels = group.world.channels_by_set["economy"]
    members = group.world.members
    prefix = "bench held j"
    progress.start(f"ramp to {level} held", level - held)
    for start in range(held, level, cfg.inflight_batch):
        batch = range(start, min(level, start + cfg.inflight_batch))
        for i in batch:
            eggapi.plan_for(f"{prefix}{i}", TaskPlan(hold=True))
        handles = await asyncio.gather(
            *(
                fake.slash(members[i % len(members)], channels[i % len(channels)], "imagine", prompt=f"{prefix}{i}")
                for i in batch
            )
        )
        await asyncio.gather(*(h.wait_ack(timeout=30) for h in handles))
        progress.update(group.count(prefix, {"running"}) - held)
    running = group.count(prefix, {"running"})
    await group.wait_tasks(prefix, {"running"}, level, timeout=120 + level / 5, on_progress=progress.update)
    progress.finish(f"{level} running (was {running} when the last was acknowledged)")
    await asyncio.sleep(min(5.0, cfg.economy_watch))  # let the first polls of the last ones pass
    drained = await _drain(group, cfg.economy_settle)
    progress.start(f"{level} held: watch", int(cfg.economy_watch))
    requests_before, discord_before = len(eggapi.requests), len(fake.requests)
    stats_before = await bot.command("stats")
    waiting_before = (stats_before.get("sweeper") or {}).get("status_edits_waiting")
    t0 = time.monotonic()
    while time.monotonic() - t0 < cfg.economy_watch:
        await asyncio.sleep(min(1.0, cfg.economy_watch))
        progress.update(int(time.monotonic() - t0))
    seconds = time.monotonic() - t0
    stats = await bot.command("stats")
    kinds = _count(eggapi.requests[requests_before:])
    edits = sum(1 for r in fake.requests[discord_before:] if r.method == "PATCH")
    progress.finish(f"{sum(kinds.values()) / seconds:.1f} EggAPI req/s, {edits / seconds:.1f} edits/s")
    return {
        "held": level,
        "window_s": round(seconds, 1),
        "eggapi_requests_per_s": round(sum(kinds.values()) / seconds, 2),
        "requests_by_kind_per_s": {k: round(v / seconds, 2) for k, v in sorted(kinds.items())},
        "discord_edits_per_s": round(edits / seconds, 2),
        # edits still to send from the ramp (phase changes, at most 3 per 5 s a channel), before and after
        "status_edits_waiting": [waiting_before, (stats.get("sweeper") or {}).get("status_edits_waiting")],
        "bot_cpu_utilisation": round((stats["cpu_s"] - stats_before["cpu_s"]) / seconds, 3),
        "seconds_to_send_the_ramps_edits": drained,  # None: still sending when the watch began
        "sweeper": stats.get("sweeper"),
    }


async def _drain(group: Group, limit: float) -> float | None:
    """Wait up to ``limit`` seconds for the status edits of the ramp to be sent; how long it took, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        stats = await group.bot.command("stats")
        if not (stats.get("sweeper") or {}).get("status_edits_waiting"):
            return round(time.monotonic() - t0, 1)
        await asyncio.sleep(0.5)
    return None


def _ratio(theirs: Any, ours: Any, digits: int = 1) -> float | None:
    if not isinstance(theirs, int | float) or not isinstance(ours, int | float) or ours <= 0:
        return None
    return round(theirs / ours, digits)


def ratios(by_strategy: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each baseline's figures as a multiple of ours (None where ours is zero or missing)."""
    ours = by_strategy.get("ours") or {}
    out: dict[str, Any] = {}
    for name, theirs in by_strategy.items():
        if name == "ours":
            continue
        row: dict[str, Any] = {}
        mine_d, their_d = ours.get("delivery") or {}, theirs.get("delivery") or {}
        for key in ("requests_per_image", "status_requests_per_image", "discord_edits_per_image"):
            row[key] = _ratio(their_d.get(key), mine_d.get(key))
        for key in ("p50", "p99"):
            row[f"delay_{key}"] = _ratio(
                (their_d.get("delay_s") or {}).get(key), (mine_d.get("delay_s") or {}).get(key)
            )
        for level, mine_h in (ours.get("held") or {}).items():
            their_h = (theirs.get("held") or {}).get(level) or {}
            row[f"eggapi_requests_per_s_{level}"] = _ratio(
                their_h.get("eggapi_requests_per_s"), mine_h.get("eggapi_requests_per_s")
            )
            row[f"discord_edits_per_s_{level}"] = _ratio(
                their_h.get("discord_edits_per_s"), mine_h.get("discord_edits_per_s")
            )
        out[name] = row
    return out


async def run_strategy(group: Group, cfg: Any, progress: Progress, strategy: str) -> dict[str, Any]:
    """Delivery, then the held levels, for one strategy's bot process."""
    out: dict[str, Any] = {"strategy": strategy, "poll_every_s": interval_of(strategy)}
    out["delivery"] = await economy_delivery(group, cfg, progress, strategy)
    held: dict[str, Any] = {}
    have = 0
    for level in cfg.economy_levels:
        held[str(level)] = await economy_held(group, cfg, progress, level, have)
        have = level
    out["held"] = held
    return out


def strategy_env(strategy: str, cfg: Any) -> dict[str, str]:
    """The bot settings of one strategy's process: the admission caps lifted, baselines unbudgeted."""
    most = str(max(max(cfg.economy_levels), cfg.economy_inflight * 2))
    caps = {
        name: most
        for name in ("EGGBOT_MAX_RUNNING_TOTAL", "EGGBOT_MAX_RUNNING_PER_MEMBER", "EGGBOT_MAX_QUEUED_PER_MEMBER")
    }
    env = {**caps, "BENCH_STRATEGY": strategy}
    if strategy != "ours":
        env.update(BASELINE_ENV)
    return env


__all__ = ["GOLDEN", "STRATEGIES", "ratios", "run_strategy", "status_requests_per_task", "strategy_env"]
