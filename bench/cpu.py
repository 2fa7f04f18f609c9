"""CPU time of processes the benchmark did not start as children, read from ``/proc`` (Linux only).

The scale-out scenario shares two cores between the bot processes, the driver (the fakes) and
PostgreSQL; to say which of them bounds the throughput it needs each one's CPU over the same
window. The bot processes report their own (``bench.botproc``); the driver reads its own with
``getrusage``; PostgreSQL's server is a daemon (``pg_ctl`` detaches it), so its CPU is the sum over
the postmaster and its children, read here. Off Linux every reading is None.
"""

from __future__ import annotations

import logging
import os
import resource
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_PROC = Path("/proc")


def _ticks() -> float:
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError, AttributeError):
        return 100.0


TICKS = _ticks()


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (which may hold spaces)."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return raw.rsplit(")", 1)[-1].split()


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of one process, or None when it is gone (or not on Linux)."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 13:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15 of stat


def tree_cpu_s(root: int) -> float | None:
    """CPU seconds of ``root`` and its direct children (a postmaster and its backends)."""
    own = process_cpu_s(root)
    if own is None:
        return None
    total = own
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and len(fields) > 12 and fields[1] == str(root):  # field 4 of stat: ppid
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def postmaster_pid(data_dir: Path) -> int | None:
    """The server's pid, from the first line of ``postmaster.pid`` in its data directory."""
    try:
        return int((data_dir / "postmaster.pid").read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def own_cpu_s() -> float:
    """This process's CPU seconds, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_s() -> float | None:
    """CPU seconds the whole machine spent busy (every core; not idle, not waiting on I/O), from ``/proc/stat``."""
    try:
        first = (_PROC / "stat").read_text(encoding="ascii").splitlines()[0].split()
    except (OSError, IndexError):
        return None
    values = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    return (sum(values) - values[3] - values[4]) / TICKS


@dataclass(frozen=True)
class Reading:
    """CPU seconds at one moment: the driver, the database server (None for SQLite) and the machine."""

    at: float
    driver_s: float
    database_s: float | None
    machine_s: float | None


def read(at: float, database_pid: int | None) -> Reading:
    return Reading(
        at=at,
        driver_s=own_cpu_s(),
        database_s=tree_cpu_s(database_pid) if database_pid is not None else None,
        machine_s=machine_busy_s(),
    )


def share(before: float | None, after: float | None, seconds: float) -> float | None:
    """CPU used between two readings as cores busy on average (1.0: one core all the time)."""
    if before is None or after is None or seconds <= 0:
        return None
    return round((after - before) / seconds, 3)
