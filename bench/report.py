"""Targets, the printed table and the machine description."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.scale_out import table_rows


def code_version(root: Path) -> dict[str, Any]:
    """The commit measured, and whether the working tree had changes on top of it."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": None if status is None else bool(status)}


def machine() -> dict[str, Any]:
    model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for dist in ("discord.py", "aiohttp", "aiosqlite"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model or platform.processor() or None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
    }


def _get(figures: dict[str, Any], *path: str) -> Any:
    node: Any = figures
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


_OURS = ("economy", "strategies", "ours")


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    path: tuple[str, ...]
    unit: str
    goal: str
    check: Callable[[float], bool]


TARGETS = (
    Target(
        "ack_p99_50",
        "ack latency p99 @ 50 concurrent",
        ("ack_latency_ms", "50", "p99"),
        "ms",
        "< 50 ms",
        lambda v: v < 50,
    ),
    Target(
        "webhook_p50",
        "delivery overhead p50, webhooks",
        ("delivery_overhead_ms", "webhooks", "p50"),
        "ms",
        "< 100 ms",
        lambda v: v < 100,
    ),
    Target(
        "webhook_p99",
        "delivery overhead p99, webhooks",
        ("delivery_overhead_ms", "webhooks", "p99"),
        "ms",
        "< 250 ms",
        lambda v: v < 250,
    ),
    Target(
        "poll_gets",
        "status GETs per 12 s task, polling",
        ("poll_requests", "get_status_per_task"),
        "",
        "<= 6",
        lambda v: v <= 6,
    ),
    Target(
        "poll_delay",
        "completion -> posted, polling (max)",
        ("poll_requests", "delivery_delay_s", "max"),
        "s",
        "<= 1.5 s",
        lambda v: v <= 1.5,
    ),
    Target(
        "burst", "20-job burst in one channel, all posted", ("burst", "all_posted_s"), "s", "<= 2 s", lambda v: v <= 2
    ),
    Target(
        "inflight_rss", "peak RSS, 1,000 in flight", ("inflight", "rss_mb", "peak"), "MB", "< 150 MB", lambda v: v < 150
    ),
    Target(
        "inflight_lag",
        "loop lag p99, 1,000 in flight",
        ("inflight", "loop_lag_ms", "p99"),
        "ms",
        "< 50 ms",
        lambda v: v < 50,
    ),
    Target("ledger", "ledger reserve+settle ops/s", ("ledger", "ops_per_s"), "ops/s", ">= 2000", lambda v: v >= 2000),
    Target(
        "econ_rps_1000",
        "EggAPI requests/s, 1,000 in flight",
        (*_OURS, "held", "1000", "eggapi_requests_per_s"),
        "req/s",
        "<= 20",
        lambda v: v <= 20,
    ),
    Target(
        "econ_edits_1000",
        "Discord edits/s, 1,000 in flight",
        (*_OURS, "held", "1000", "discord_edits_per_s"),
        "edits/s",
        "<= 5",
        lambda v: v <= 5,
    ),
    Target(
        "econ_delay_p99",
        "completion -> posted p99, polling, worst of 2-60 s tasks",
        (*_OURS, "delivery", "worst_p99_s"),
        "s",
        "<= 1.5 s",
        lambda v: v <= 1.5,
    ),
    Target(
        "econ_vs_5s",
        "status requests per image, 5 s per-task polling / ours, 100 in flight",
        ("economy", "ratios", "per-task-5s", "status_requests_per_image"),
        "x",
        ">= 10",
        lambda v: v >= 10,
    ),
    Target(
        "econ_delay_vs_5s",
        "delay p99, 5 s per-task polling / ours",
        ("economy", "ratios", "per-task-5s", "delay_p99"),
        "x",
        "> 1 (ours lower)",
        lambda v: v > 1,
    ),
)


def judge(figures: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for target in TARGETS:
        value = _get(figures, *target.path)
        met = target.check(value) if isinstance(value, (int, float)) else None
        out.append(
            {
                "key": target.key,
                "figure": target.label,
                "value": value,
                "unit": target.unit,
                "target": target.goal,
                "met": met,
            }
        )
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def table(figures: dict[str, Any], targets: list[dict[str, Any]]) -> str:
    rows: list[tuple[str, str, str, str]] = []
    verdict = {t["key"]: ("met" if t["met"] else "MISSED" if t["met"] is False else "n/a") for t in targets}

    def add(label: str, value: str, target: str = "", key: str | None = None) -> None:
        rows.append((label, value, target, verdict.get(key, "") if key else ""))

    for conc, s in (_get(figures, "ack_latency_ms") or {}).items():
        value = f"p50 {_fmt(s['p50'])} / p99 {_fmt(s['p99'])} / max {_fmt(s['max'])} (n={s['n']})"
        target = conc == "50"
        add(
            f"ack latency @ {conc} concurrent (ms)",
            value,
            "p99 < 50" if target else "",
            "ack_p99_50" if target else None,
        )
    for mode, s in (_get(figures, "delivery_overhead_ms") or {}).items():
        if "p50" not in s:
            target = "p50 < 100, p99 < 250" if mode == "webhooks" else ""
            add(f"delivery overhead, {mode} (ms)", s.get("status", "-"), target)
            continue
        value = f"p50 {_fmt(s['p50'])} / p99 {_fmt(s['p99'])} (n={s['n']})"
        if mode == "webhooks":
            both = (verdict.get("webhook_p50"), verdict.get("webhook_p99"))
            rows.append(
                (f"delivery overhead, {mode} (ms)", value, "p50 < 100, p99 < 250", f"p50 {both[0]}, p99 {both[1]}")
            )
        else:
            add(f"delivery overhead, {mode} (ms)", value)
    poll = _get(figures, "poll_requests")
    if poll:
        add(
            f"EggAPI requests, {poll['task_duration_s']:g} s task, polling",
            f"POST {_fmt(poll['post_per_task'])}, GET status {_fmt(poll['get_status_per_task'])}"
            f" + GET image {_fmt(poll['get_download_per_task'])}",
            "<= 6 GETs",
            "poll_gets",
        )
        add("  completion -> posted (s)", f"max {_fmt(poll['delivery_delay_s']['max'])}", "<= 1.5", "poll_delay")
    inflight = _get(figures, "inflight")
    if inflight:
        n = inflight["tasks"]
        add(
            f"loop lag, {n} in flight (ms)",
            f"p50 {_fmt(inflight['loop_lag_ms']['p50'])} / p99 "
            f"{_fmt(inflight['loop_lag_ms']['p99'])} / max {_fmt(inflight['loop_lag_ms']['max'])}",
            "p99 < 50",
            "inflight_lag",
        )
        add(
            f"peak RSS, {n} in flight (MB)",
            f"{_fmt(inflight['rss_mb']['peak'])} (baseline {_fmt(inflight['rss_mb']['baseline'])})",
            "< 150",
            "inflight_rss",
        )
        add(
            f"CPU, {n} in flight (s)",
            f"{_fmt(inflight['cpu_s']['window'])} in {_fmt(inflight['window_s'])} s "
            f"({_fmt(round(100 * inflight['cpu_s']['window_utilisation'], 1))}% of a core); ramp "
            f"{_fmt(inflight['cpu_s']['ramp'])} s",
        )
    ledger = _get(figures, "ledger")
    if ledger:
        add(
            "ledger reserve+settle (ops/s)",
            f"{_fmt(ledger['ops_per_s'])} (reserve {_fmt(ledger['reserve_per_s'])}/s,"
            f" settle {_fmt(ledger['settle_per_s'])}/s)",
            ">= 2000",
            "ledger",
        )
    ledger_pg = _get(figures, "ledger_postgres")
    if ledger_pg:
        add(
            "  the same on PostgreSQL (ops/s)",
            f"{_fmt(ledger_pg['ops_per_s'])} (reserve {_fmt(ledger_pg['reserve_per_s'])}/s,"
            f" settle {_fmt(ledger_pg['settle_per_s'])}/s; local server, fsync off)",
        )
    burst = _get(figures, "burst")
    if burst:
        add(
            f"burst of {burst['jobs']} in one channel (s)",
            f"all posted after {_fmt(burst['all_posted_s'])}"
            f" (first {_fmt(burst['first_posted_s'])}; other channel {_fmt(burst['other_channel_delay_s'])})",
            "<= 2",
            "burst",
        )
    _economy_rows(figures, add)
    for label, value in table_rows(_get(figures, "scale")):
        add(label, value)
    widths = [max(len(r[i]) for r in [*rows, ("figure", "measured", "target", "")]) for i in range(4)]
    header = ("figure", "measured", "target", "verdict")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def _side_by_side(strategies: dict[str, Any], ratios: dict[str, Any], path: tuple[str, ...], ratio: str) -> str:
    """``ours 1.2 | per-task-5s 20 (x16.7) | per-task-1s 98 (x81.7)``."""
    parts = []
    for name, figures in strategies.items():
        value = _get(figures, *path)
        times = (ratios.get(name) or {}).get(ratio)
        parts.append(f"{name} {_fmt(value)}" + (f" (x{_fmt(times)})" if times is not None else ""))
    return " | ".join(parts)


def _economy_rows(figures: dict[str, Any], add: Callable[..., None]) -> None:
    economy = _get(figures, "economy")
    if not economy:
        return
    strategies, ratios = economy.get("strategies") or {}, economy.get("ratios") or {}
    ours = strategies.get("ours") or {}
    for level in ours.get("held") or {}:
        big = level == "1000"
        add(
            f"EggAPI requests/s, {level} held in flight",
            _side_by_side(
                strategies, ratios, ("held", level, "eggapi_requests_per_s"), f"eggapi_requests_per_s_{level}"
            ),
            "ours <= 20" if big else "",
            "econ_rps_1000" if big else None,
        )
        add(
            f"Discord edits/s, {level} held in flight",
            _side_by_side(strategies, ratios, ("held", level, "discord_edits_per_s"), f"discord_edits_per_s_{level}"),
            "ours <= 5" if big else "",
            "econ_edits_1000" if big else None,
        )
    add(
        "EggAPI status requests per image",
        _side_by_side(strategies, ratios, ("delivery", "status_requests_per_image"), "status_requests_per_image"),
        "5 s / ours >= 10",
        "econ_vs_5s",
    )
    add(
        "EggAPI requests per image, all",
        _side_by_side(strategies, ratios, ("delivery", "requests_per_image"), "requests_per_image"),
    )
    add(
        "completion -> posted p99 (s), 2-60 s",
        _side_by_side(strategies, ratios, ("delivery", "delay_s", "p99"), "delay_p99"),
        "ours lower",
        "econ_delay_vs_5s",
    )
    add(
        "completion -> posted p50 (s), 2-60 s",
        _side_by_side(strategies, ratios, ("delivery", "delay_s", "p50"), "delay_p50"),
    )
    by_duration = (ours.get("delivery") or {}).get("delay_s_by_duration") or {}
    if by_duration:
        add(
            "  ours p99 by task duration (s)",
            ", ".join(f"{d} s: {_fmt(v.get('p99'))}" for d, v in by_duration.items()),
            "each <= 1.5",
            "econ_delay_p99",
        )
