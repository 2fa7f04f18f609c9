"""Percentiles and summaries (nearest rank: with fewer than 100 samples, p99 is the maximum)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None when there are no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def summary(values: Iterable[float], *, scale: float = 1.0, digits: int = 1) -> dict[str, Any]:
    """``{"n", "p50", "p99", "max", "mean"}`` of ``values`` × ``scale`` (None figures when empty)."""
    data = [v * scale for v in values]

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, digits)

    return {
        "n": len(data),
        "p50": r(percentile(data, 50)),
        "p99": r(percentile(data, 99)),
        "max": r(max(data) if data else None),
        "mean": r(sum(data) / len(data) if data else None),
    }
