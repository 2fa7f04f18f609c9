"""Small text helpers for what members read: one copy each, shared by every cog.

Words themselves come from the catalogues (``bot.i18n``); ``word``, ``plural`` and ``images`` are English
only, kept for English-only places (logs, file names): a member's text takes a catalogue's plural table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import discord

TimestampStyle = Literal["f", "F", "d", "D", "t", "T", "R"]


def excerpt(text: str, limit: int) -> str:
    """Member-written text on one line, shortened and made inert (no markdown, no mentions)."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return discord.utils.escape_mentions(discord.utils.escape_markdown(flat))


def word(count: int, singular: str, plural: str | None = None) -> str:
    """The word that goes with ``count``: ``image`` for 1, ``images`` otherwise."""
    return singular if count == 1 else plural or f"{singular}s"


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """``1 task``, ``3 tasks``."""
    return f"{count} {word(count, singular, plural)}"


def images(count: int) -> str:
    """``1 image``, ``3 images``."""
    return plural(count, "image")


def when(moment: datetime, style: TimestampStyle = "f") -> str:
    """A Discord timestamp, shown in each reader's own timezone (``R``: "in 3 hours")."""
    return discord.utils.format_dt(moment, style)
