"""Parsing helpers shared by the EggAPI models: money, numbers, RFC 3339 timestamps.

Costs are strings with a ``$`` prefix in 2, 4 or 6 decimals (``"$0.00"``, ``"$0.0100"``,
``"0.016000"``); they are parsed to :class:`~decimal.Decimal`, never to float.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = ["format_cost", "parse_cost", "parse_int", "parse_number", "parse_time", "read_cost"]

_FOUR_PLACES = Decimal("0.0001")
_PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_SHOWN_CHARS = 40  # of an unreadable cost in the log: enough to see what it was, never a whole body


def parse_cost(value: str | int | float | Decimal | None) -> Decimal:
    """Parse an EggAPI cost: ``"$0.0100"``, ``" 0.016000 "``, ``0``, ``None`` (= 0).

    Raises ``ValueError`` for anything that is not a finite number (with optional ``$``).
    """
    if value is None:
        return Decimal("0")
    if isinstance(value, bool):
        raise ValueError(f"not a cost: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        negative = text.startswith("-")
        if negative:
            text = text[1:].lstrip()
        if text.startswith("$"):
            text = text[1:].strip()
        if not _PLAIN_DECIMAL.fullmatch(text):
            raise ValueError(f"not a cost: {value!r}")
        result = Decimal(text)
        if negative:
            result = -result
    else:
        raise ValueError(f"not a cost: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a cost: {value!r}")
    return result


def read_cost(value: Any) -> tuple[Decimal | None, str | None]:
    """A task's ``cost`` as ``(amount, None)``, or ``(None, what it was)`` when it cannot be trusted.

    A task's cost is one field of many: an absent, unparseable or negative one must not make the
    whole task unreadable (its images are still there), so instead of raising this says the cost is
    unknown and keeps a short, printable description of the value for one log line.
    """
    if value is None:
        return None, "absent"
    try:
        amount = parse_cost(value)
    except ValueError:
        return None, describe_value(value)
    if amount < 0:
        return None, describe_value(value)
    return amount, None


def describe_value(value: Any) -> str:
    """``repr`` of an upstream value, printable and at most ~40 characters, for a log line."""
    text = repr(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def format_cost(amount: Decimal) -> str:
    """Render a cost like the newest docs: ``"$0.0100"`` (4 decimals, ROUND_HALF_UP)."""
    quantized = Decimal(amount).quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP)
    if quantized < 0:
        return f"-${-quantized}"
    return f"${quantized}"


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 (``Z`` or ``+08:00``, any fraction) to an aware datetime; None if absent/unparseable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def parse_number(value: Any) -> Decimal:
    """An int/float/numeric string as Decimal (for ``total_units``)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        result = Decimal(value) if isinstance(value, int) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a number: {value!r}")
    return result


def parse_int(value: Any, default: int) -> int:
    """An integer field that may be absent (-> default)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not an integer: {value!r}")
    return int(value)
