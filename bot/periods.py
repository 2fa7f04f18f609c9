"""The quota period vocabulary, in one place: settings, the ledger and the cogs all read it here."""

from __future__ import annotations

from typing import Literal, get_args

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = get_args(Period)
PERIOD_ADJECTIVES: dict[str, str] = {"day": "daily", "week": "weekly", "month": "monthly"}
