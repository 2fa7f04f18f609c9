"""The one clock and the one stored timestamp format, so every table sorts and compares alike.

Stored times are ISO 8601 text in UTC with microseconds: fixed width, so text order is time order.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    """The current time in UTC (aware)."""
    return datetime.now(UTC)


def require_aware(value: datetime) -> datetime:
    """``value`` if it carries a timezone; ValueError for naive datetimes."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
    return value


def to_iso(value: datetime) -> str:
    """Storage form of an aware timestamp: ISO 8601 in UTC with microseconds (sorts as text)."""
    return require_aware(value).astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str) -> datetime:
    """Parse a stored timestamp (as written by ``to_iso``)."""
    return datetime.fromisoformat(text)
