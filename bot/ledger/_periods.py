"""Pure period math: calendar days, Monday weeks and months in an IANA timezone.

No I/O. Every datetime given or returned is timezone-aware.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import require_aware
from bot.periods import check_period

log = logging.getLogger(__name__)

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Z"})


def load_zone(name: str) -> tzinfo:
    """The IANA timezone ``name`` (UTC needs no tz database); ValueError if unknown."""
    if name in _UTC_NAMES:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    # A midnight skipped by a DST jump resolves (fold=0) to the instant of the jump.
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def period_bounds(period: str, timezone: str, now: datetime) -> tuple[datetime, datetime]:
    """The calendar period containing ``now``: (start, next reset), both aware UTC datetimes.

    Days start at local midnight, weeks on Monday, months on the 1st, in ``timezone``.
    """
    check_period(period)
    zone = load_zone(timezone)
    today = require_aware(now).astimezone(zone).date()
    if period == "day":
        first, following = today, today + timedelta(days=1)
    elif period == "week":
        first = today - timedelta(days=today.weekday())
        following = first + timedelta(days=7)
    else:
        first = today.replace(day=1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return _local_midnight(first, zone), _local_midnight(following, zone)
