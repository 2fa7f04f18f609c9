"""The quota period vocabulary, in one place: settings, the ledger and the cogs all read it here."""

from __future__ import annotations

from typing import Literal, get_args

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = get_args(Period)
PERIOD_ADJECTIVES: dict[str, str] = {"day": "daily", "week": "weekly", "month": "monthly"}


def check_period(period: str) -> Period:
    """``period`` if it is one of ``day``, ``week``, ``month``; else ValueError."""
    for known in PERIODS:
        if period == known:
            return known
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
