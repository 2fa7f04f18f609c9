"""How each setting's text is read: numbers, money, URLs, ports, time zones, shard lists.

Split from ``settings``, which reads the environment with these (``load_settings``) and keeps the
contract itself: the names, the defaults and the checks between settings. Each parser takes the
setting's text (trimmed, never empty) and returns its value, or raises ``ValueError`` with a
sentence for people, which the settings report quotes beside the setting's name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.logs import redact_url
from bot.money import parse_money
from bot.periods import PERIODS, Period, check_period

T = TypeVar("T")

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
LOG_FORMATS = ("text", "json")  # json: one JSON object per line, for log collectors


def url(*schemes: str) -> Callable[[str], str]:
    """An absolute URL in one of ``schemes``; a bare trailing slash is dropped."""

    def parse(raw: str) -> str:
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not parts.netloc:
            raise ValueError(f"must be a {'/'.join(schemes)} URL")
        return raw.rstrip("/") if parts.path in ("", "/") else raw

    return parse


POSTGRES_SCHEMES = ("postgresql", "postgres")


def parse_database_url(raw: str) -> str:
    """A PostgreSQL connection URL, checked as far as can be without connecting."""
    parts = urlsplit(raw)
    if parts.scheme not in POSTGRES_SCHEMES:
        raise ValueError("must be a PostgreSQL URL, postgresql://user:password@host:5432/database")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValueError("must have a port from 1 to 65535, postgresql://user:password@host:5432/database") from None
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError("must name the server, postgresql://user:password@host:5432/database")
    if not parts.path.strip("/"):
        raise ValueError("must name the database after the server, postgresql://user:password@host:5432/database")
    return raw


def masked_url(raw: str) -> str:
    """How a refused URL is quoted in the report: its password masked."""
    return repr(redact_url(raw))


def whole(raw: str) -> int:
    """A whole number."""
    try:
        return int(raw)
    except ValueError:
        raise ValueError("must be a whole number") from None


def number(raw: str) -> float:
    """A finite number."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a number")
    return value


def positive(kind: Callable[[str], T]) -> Callable[[str], T]:
    """``kind``, greater than zero."""

    def parse(raw: str) -> T:
        value = kind(raw)
        if not value > 0:  # type: ignore[operator]
            raise ValueError("must be greater than zero")
        return value

    return parse


def not_negative(kind: Callable[[str], T]) -> Callable[[str], T]:
    """``kind``, zero or more."""

    def parse(raw: str) -> T:
        value = kind(raw)
        if value < 0:  # type: ignore[operator]
            raise ValueError("must not be negative")
        return value

    return parse


def port(raw: str) -> int:
    """A TCP port, 1 to 65535."""
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise ValueError("must be a port number from 1 to 65535")
    return value


def money(raw: str) -> Decimal:
    """A dollar amount as people type it (``bot.money``), not negative."""
    try:
        value = parse_money(raw)
    except ValueError:
        raise ValueError("must be a dollar amount like 1.00") from None
    if value < 0:
        raise ValueError("must not be negative")
    return value


def period(raw: str) -> Period:
    """A quota period (``bot.periods``), in any case."""
    try:
        return check_period(raw.strip().lower())
    except ValueError:
        raise ValueError(f"must be one of {', '.join(PERIODS)}") from None


def choice(*options: str) -> Callable[[str], str]:
    """One of ``options``, in any case (log levels upper, the rest lower)."""

    def parse(raw: str) -> str:
        value = raw.lower() if options != LOG_LEVELS else raw.upper()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return parse


def timezone(raw: str) -> str:
    """An IANA time zone name this machine knows."""
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as UTC or Europe/Paris") from None
    return raw


def boolean(raw: str) -> bool:
    """true/false, yes/no, on/off or 1/0."""
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def snowflake(raw: str) -> int:
    """A Discord id."""
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError("must be a Discord id (a number such as 123456789012345678)")
    return value


def shard_ids(raw: str) -> tuple[int, ...]:
    """``0,1,2``, a range ``0-3`` (both ends included), or both: ``0-3,8``."""
    ids: set[int] = set()
    try:
        for part in raw.replace(" ", "").split(","):
            low, _, high = part.partition("-")
            first, last = int(low), int(high or low)
            if first < 0 or last < first:
                raise ValueError
            ids.update(range(first, last + 1))
    except ValueError:
        raise ValueError("must be shard numbers such as 0,1 or a range such as 0-3") from None
    return tuple(sorted(ids))


positive_number = positive(number)  # intervals, timeouts, rates
positive_whole = positive(whole)  # counts and caps
