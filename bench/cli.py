"""Command line: parse the knobs, run the scenarios, print the table, save the JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.baselines import interval_of
from bench.harness import ROOT
from bench.progress import Progress
from bench.report import code_version, judge, machine, table
from bench.scenarios import ALL_SCENARIOS, Config, run_all

DEFAULT_OUTPUT = ROOT / "bench" / "results" / "latest.json"
DESCRIPTION = (
    "Benchmark eggbot: the real bot (its own process) against the project's fake Discord and fake EggAPI on "
    "127.0.0.1. Prints a table with the targets met or missed and saves the figures as JSON. Run it from the "
    "repository root; see bench/README.md."
)

SMOKE: dict[str, Any] = {
    "members": 10,
    "channels": 2,
    "fail_rate": 0.25,
    "durations": (0.3, 0.6),
    "ack_rounds": (1, 1, 1),
    "prompts": 4,
    "rate": 20.0,
    "poll_tasks": 1,
    "poll_duration": 0.5,
    "inflight": 20,
    "inflight_batch": 10,
    "inflight_window": 1.0,
    "ledger_cycles": 100,
    "burst": 3,
    "economy_inflight": 6,
    "economy_ramp": 0.0,
    "economy_durations": (0.3, 0.6),
    "economy_window": 2.0,
    "economy_levels": (5, 10),
    "economy_watch": 1.0,
    "economy_settle": 1.0,
    "scale_processes": (1, 2),
    "scale_rate": 10.0,
    "scale_ramp": 1.0,
    "scale_window": 2.0,
    "scale_duration": 0.3,
    "scale_drain": 10.0,
    "scale_guilds": 2,
    "scale_channels": 8,
    "scale_members": 4,
}


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _rate_limit(text: str) -> tuple[int, float]:
    limit, _, per = text.partition("/")
    return int(limit), float(per or 5)


def _strategies(text: str) -> tuple[str, ...]:
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    for name in names:
        try:
            interval_of(name)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return names


def _scenarios(text: str) -> tuple[str, ...]:
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    unknown = set(names) - set(ALL_SCENARIOS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(ALL_SCENARIOS)}"
        )
    return names


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


# Flags that set the Config field of the same name: (flag, parser, help), the default taken from Config.
KNOBS: tuple[tuple[str, Callable[[str], Any], str], ...] = (
    ("--economy-inflight", int, "economy: jobs kept in flight"),
    ("--economy-ramp", float, "economy: new jobs a second until that many are in flight (0: all at once)"),
    ("--economy-durations", _floats, "economy: task durations (s), cycled"),
    ("--economy-window", float, "economy: seconds jobs are kept in flight"),
    ("--economy-levels", _ints, "economy: jobs held in flight, level by level"),
    ("--economy-watch", float, "economy: seconds watched at each held level"),
    ("--economy-settle", float, "economy: seconds at most to let a ramp's status edits go out before watching"),
    ("--scale-processes", _ints, "scale: bot processes on one PostgreSQL, level by level (SQLite: one)"),
    ("--scale-rate", float, "scale: /imagine offered a second"),
    ("--scale-ramp", float, "scale: seconds of load before the measured window"),
    ("--scale-window", float, "scale: seconds measured"),
    ("--scale-duration", float, "scale: EggAPI task duration (s)"),
    ("--scale-backlog", float, "scale: unfinished jobs kept at most, in seconds of the offered rate"),
    ("--scale-drain", float, "scale: seconds at most to let the last jobs finish"),
    ("--scale-guilds", int, "scale: servers, spread evenly over the shards"),
    ("--scale-channels", int, "scale: channels, spread over the servers"),
    ("--scale-members", int, "scale: members, spread over the servers"),
)
RENAMED = {"profile": "profile_dir", "keep_logs": "logs_dir"}
NOT_CONFIG = {"output", "smoke", "no_progress"}


def parser() -> argparse.ArgumentParser:
    d = Config()
    p = argparse.ArgumentParser(
        prog="python -m bench", description=DESCRIPTION, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--scenarios", type=_scenarios, default=d.scenarios, help=f"comma-separated subset of {','.join(ALL_SCENARIOS)}"
    )
    p.add_argument("--members", type=int, default=d.members, help="members sending /imagine (round robin)")
    p.add_argument("--channels", type=int, default=d.channels, help="channels the delivery jobs are spread over")
    p.add_argument(
        "--images", type=int, default=d.images, choices=range(1, 5), metavar="1-4", help="count per /imagine"
    )
    p.add_argument(
        "--fail-rate", type=float, default=d.fail_rate, help="share of tasks EggAPI fails (ack and delivery scenarios)"
    )
    p.add_argument(
        "--durations",
        type=_floats,
        default=d.durations,
        help="EggAPI task durations in seconds, cycled over the delivery jobs",
    )
    p.add_argument("--ack-concurrency", type=_ints, default=d.ack_concurrency, help="concurrent /imagine per round")
    p.add_argument("--ack-rounds", type=_ints, default=d.ack_rounds, help="rounds per concurrency level")
    p.add_argument("--prompts", type=int, default=d.prompts, help="/imagine prompts per delivery mode")
    p.add_argument("--rate", type=float, default=d.rate, help="delivery prompts per second")
    p.add_argument("--poll-tasks", type=int, default=d.poll_tasks, help="tasks in the requests-per-task scenario")
    p.add_argument("--poll-duration", type=float, default=d.poll_duration, help="their EggAPI duration (s)")
    p.add_argument("--inflight", type=int, default=d.inflight, help="tasks held in flight")
    p.add_argument("--inflight-batch", type=int, default=d.inflight_batch, help="concurrent /imagine while ramping up")
    p.add_argument(
        "--inflight-window", type=float, default=d.inflight_window, help="seconds watched once every task is running"
    )
    p.add_argument("--ledger-cycles", type=int, default=d.ledger_cycles, help="reserve+settle pairs")
    p.add_argument("--burst", type=int, default=d.burst, help="jobs finishing at once in one channel")
    p.add_argument(
        "--strategies",
        type=_strategies,
        default=d.strategies,
        help="economy: the bot as it ships (ours) and the baselines per-task-<N>s, side by side",
    )
    for flag, parse, text in KNOBS:
        p.add_argument(flag, type=parse, default=getattr(d, _dest(flag)), help=text)
    p.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=d.rate_limit,
        metavar="N/SECONDS",
        help="Discord's per-channel message limit enforced by the fake",
    )
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the failure mix")
    p.add_argument("--log-level", default=d.log_level, help="the bot's LOG_LEVEL (production default INFO)")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the JSON goes")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="cProfile the bot during each scenario (and the ledger run) into DIR/<scenario>.prof",
    )
    p.add_argument("--keep-logs", type=Path, default=None, metavar="DIR", help="copy each bot process's log here")
    p.add_argument(
        "--db-counts",
        action="store_true",
        help="scale: count each process's transactions, reads and statements by change (bench.dbcount)",
    )
    p.add_argument("--smoke", action="store_true", help="tiny sizes for a quick check (numbers are not meaningful)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def config_from(args: argparse.Namespace) -> Config:
    """Every flag but the run's own (``NOT_CONFIG``) is the Config field of the same name (or ``RENAMED``)."""
    values = {RENAMED.get(k, k): v for k, v in vars(args).items() if k not in NOT_CONFIG}
    cfg = Config(**dict(values, log_level=args.log_level.upper()))
    if args.smoke:
        given = {a.dest for a in parser()._actions if a.dest in SMOKE and getattr(args, a.dest) != a.default}
        cfg = replace(cfg, **{k: v for k, v in SMOKE.items() if k not in given})
    if len(cfg.ack_concurrency) != len(cfg.ack_rounds):
        raise SystemExit("--ack-concurrency and --ack-rounds need the same number of entries")
    return cfg


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cfg = config_from(args)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.ERROR)
    progress = Progress(enabled=not args.no_progress)
    started = datetime.now(UTC)
    code = code_version(ROOT)  # before the run: others may commit while it goes
    t0 = time.monotonic()
    results = asyncio.run(run_all(cfg, progress))
    targets = judge(results.figures)
    report: dict[str, Any] = {
        "schema": 1,
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 1),
        "smoke": bool(args.smoke),
        "machine": machine(),
        "code": code,
        "config": cfg.as_json(),
        "figures": results.figures,
        "targets": targets,
        "details": results.details,
        "notes": results.notes,
        "errors": results.errors,
    }
    output: Path = args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(results.figures, targets))
    for note in results.notes:
        print(f"note: {note}")
    for error in results.errors:
        print(f"error: {error}", file=sys.stderr)
    print(f"\nsaved {output}" + (" (smoke run: sizes too small for meaningful numbers)" if args.smoke else ""))
    return 1 if results.errors else 0
