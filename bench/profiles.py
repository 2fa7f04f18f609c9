"""cProfile summaries: the text beside each ``.prof`` the benchmark writes with ``--profile``."""

from __future__ import annotations

import io
import pstats
from pathlib import Path


def summarise_profile(path: Path, lines: int = 40) -> None:
    """``<name>.txt`` beside ``<name>.prof``: the top functions by own time and by cumulative time."""
    if not path.exists():
        return
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(lines)
    path.with_suffix(".txt").write_text(out.getvalue(), encoding="utf-8")
