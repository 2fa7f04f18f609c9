"""The benchmark still runs: ``python -m bench --smoke`` writes a JSON with every figure (no timing checks).

The scale group's PostgreSQL levels are required when a server is installed (or EGGBOT_REQUIRE_POSTGRES=1).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testkit.postgres import find_binaries, required

ROOT = Path(__file__).resolve().parent.parent

# Every figure the benchmark reports, as a path into the JSON's "figures".
FIGURE_KEYS = [
    ("ack_latency_ms", "1", "p99"),
    ("ack_latency_ms", "10", "p99"),
    ("ack_latency_ms", "50", "p50"),
    ("ack_latency_ms", "50", "p99"),
    ("ack_latency_ms", "50", "max"),
    ("delivery_overhead_ms", "polling", "p50"),
    ("delivery_overhead_ms", "polling", "p99"),
    ("delivery_overhead_ms", "webhooks"),
    ("poll_requests", "post_per_task"),
    ("poll_requests", "get_status_per_task"),
    ("poll_requests", "get_download_per_task"),
    ("poll_requests", "delivery_delay_s", "max"),
    ("inflight", "loop_lag_ms", "p99"),
    ("inflight", "cpu_s", "window"),
    ("inflight", "rss_mb", "peak"),
    ("ledger", "ops_per_s"),
    ("burst", "all_posted_s"),
    ("inflight", "eggapi_requests_per_s"),
    ("inflight", "status_edits_per_s"),
    ("economy", "strategies", "ours", "delivery", "delay_s", "p99"),
    ("economy", "strategies", "ours", "delivery", "worst_p99_s"),
    ("economy", "strategies", "ours", "delivery", "requests_per_image"),
    ("economy", "strategies", "ours", "held", "10", "eggapi_requests_per_s"),
    ("economy", "strategies", "ours", "held", "10", "discord_edits_per_s"),
    ("economy", "strategies", "per-task-5s", "delivery", "status_requests_per_image"),
    ("economy", "strategies", "per-task-1s", "held", "10", "eggapi_requests_per_s"),
    ("economy", "ratios", "per-task-5s", "status_requests_per_image"),
    ("economy", "ratios", "per-task-1s", "delay_p99"),
    ("scale", "ledger_ops_per_s", "sqlite"),
    *(
        ("scale", "levels", "sqlite-1", *figure)
        for figure in (
            ("deliveries_per_s",),
            ("offered_per_s",),
            ("ack_ms", "p99"),
            ("cpu_cores", "bot_processes"),
            ("cpu_cores", "driver_fakes"),
            ("cpu_cores", "machine"),
            ("cpu_ms_per_delivery", "bot_processes"),
        )
    ),
]
# The scale group's levels on PostgreSQL (the smoke run measures 1 and 2 processes), when a server is installed.
POSTGRES_KEYS = [
    ("scale", "ledger_ops_per_s", "postgresql"),
    *(
        ("scale", "levels", level, *figure)
        for level in ("postgresql-1", "postgresql-2")
        for figure in (
            ("deliveries_per_s",),
            ("ack_ms", "p99"),
            ("cpu_cores", "bot_processes"),
            ("cpu_cores", "postgresql"),
            ("cpu_ms_per_delivery", "postgresql"),
        )
    ),
    ("scale", "levels", "postgresql-2", "by_process", 1, "deliveries_per_s"),
    ("scale", "scaling", "postgresql-2", "vs_postgresql_1"),
]
TARGET_KEYS = {
    "ack_p99_50",
    "webhook_p50",
    "webhook_p99",
    "poll_gets",
    "poll_delay",
    "burst",
    "inflight_rss",
    "inflight_lag",
    "ledger",
    "econ_rps_1000",
    "econ_edits_1000",
    "econ_delay_p99",
    "econ_vs_5s",
    "econ_delay_vs_5s",
}


def _at(report: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    """The figure at ``path`` (keys, or indexes into lists), or None when any step is missing."""
    node: Any = report["figures"]
    for key in path:
        if isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return None
    return node


@pytest.mark.timeout(240)
def test_bench_smoke_run_writes_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--no-progress", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(output.read_text())
    assert report["errors"] == []
    for key in ("nproc", "cpu_model", "python"):
        assert key in report["machine"]
    postgres = find_binaries() is not None or required()
    missing = [
        "/".join(map(str, path))
        for path in FIGURE_KEYS + (POSTGRES_KEYS if postgres else [])
        if _at(report, path) is None
    ]
    assert not missing, f"figures missing (or null) from the benchmark JSON: {missing}"
    assert "EGGBOT_EGGAPI_RPS" in report["details"]["scale"]["lifted"]  # what the scale group lifted is said
    assert {t["key"] for t in report["targets"]} == TARGET_KEYS
    assert all("met" in t and "value" in t for t in report["targets"])
    assert "figure" in done.stdout  # the table was printed
