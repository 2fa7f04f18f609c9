"""Reporting ranges: the quota period and calendar periods in a guild's timezone. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from bot.ledger import Period, period_bounds

RangeKey = Literal["current", "today", "week", "month", "last_month", "all"]
RANGE_KEYS: tuple[RangeKey, ...] = get_args(RangeKey)
RANGE_LABELS: dict[RangeKey, str] = {
    "current": "Current quota period",
    "today": "Today",
    "week": "This week",
    "month": "This month",
    "last_month": "Last month",
    "all": "All time",
}
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Z"})


def zone(name: str) -> tzinfo:
    """The IANA timezone ``name`` (ValueError if unknown; the ledger validated it already)."""
    return UTC if name in _UTC_NAMES else ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class Window:
    """A reporting range ``[start, end)`` in UTC; ``None`` bounds mean "no limit" (all time)."""

    key: RangeKey
    label: str
    timezone: str
    start: datetime | None
    end: datetime | None

    def contains(self, when: datetime) -> bool:
        """Whether ``when`` (aware) falls inside the range."""
        return (self.start is None or when >= self.start) and (self.end is None or when < self.end)

    def local_date(self, when: datetime) -> date:
        """The calendar day of ``when`` in the range's timezone."""
        return when.astimezone(zone(self.timezone)).date()


def report_window(key: str, period: Period, timezone: str, now: datetime) -> Window:
    """The range ``key`` around ``now``; ``current`` is the guild's quota ``period``. ValueError for unknown keys."""
    if key not in RANGE_KEYS:
        raise ValueError(f"unknown range {key!r}; expected one of {', '.join(RANGE_KEYS)}")
    label = RANGE_LABELS[key]
    if key == "all":
        return Window("all", label, timezone, None, None)
    if key == "last_month":
        this_month, _ = period_bounds("month", timezone, now)
        start, end = period_bounds("month", timezone, this_month - timedelta(microseconds=1))
        return Window("last_month", label, timezone, start, end)
    calendar: dict[str, Period] = {"current": period, "today": "day", "week": "week", "month": "month"}
    start, end = period_bounds(calendar[key], timezone, now)
    return Window(key, label, timezone, start, end)
