"""The benchmark still runs: ``python -m bench --smoke`` writes a JSON with every figure (no timing checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.timeout(180)
def test_bench_smoke_run_writes_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--no-progress", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(output.read_text())
    assert report["errors"] == []
    for key in ("nproc", "cpu_model", "python"):
        assert key in report["machine"]
    missing = []
    for path in FIGURE_KEYS:
        node = report["figures"]
        for key in path:
            if not isinstance(node, dict) or key not in node:
                missing.append("/".join(path))
                break
            node = node[key]
        else:
            if node is None:
                missing.append("/".join(path) + " (null)")
    assert not missing, f"figures missing from the benchmark JSON: {missing}"
    assert {t["key"] for t in report["targets"]} == TARGET_KEYS
    assert all("met" in t and "value" in t for t in report["targets"])
    assert "figure" in done.stdout  # the table was printed
