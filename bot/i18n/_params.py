"""Texts decided now and written later, in the reader's language, and the values only the chat side can write.

The core knows no chat markup and no reader: it says *which* text (``Text``), and marks the values that
the chat platform shows in each reader's own way (``Moment``, ``Channels``). ``Texts`` renders them,
through a ``Markup`` when the chat side gives one, else plainly (for logs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

TimeStyle = Literal["f", "F", "d", "D", "t", "T", "R"]  # Discord's timestamp styles; "R" reads "in 3 hours"


class Text:
    """A catalogue text with its parameters, to be rendered in whichever language reads it.

    Parameters may be Texts themselves (rendered in the same language), ``Moment``, ``Channels``,
    ``Number`` or plain values. ``Text("errors.queue_full", count=3)``.
    """

    __slots__ = ("key", "params")

    def __init__(self, key: str, /, **params: object) -> None:
        self.key = key
        self.params: Mapping[str, object] = params

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.key, dict(self.params)) == (other.key, dict(other.params))

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        params = "".join(f", {name}={value!r}" for name, value in self.params.items())
        return f"Text({self.key!r}{params})"


@dataclass(frozen=True, slots=True)
class Moment:
    """A point in time, which the chat side shows in each reader's own clock (Discord: ``<t:…:R>``)."""

    at: datetime
    style: TimeStyle = "R"


@dataclass(frozen=True, slots=True)
class Number:
    """A whole number written with the reader's thousands separator (``2,001``, ``2.001``, ``2 001``)."""

    value: int


@dataclass(frozen=True, slots=True)
class Channels:
    """One or more channels, which the chat side shows as links (joined by commas)."""

    ids: tuple[int, ...]


class Markup(Protocol):
    """How the chat side writes the values the core leaves to it (one object per chat platform: hashable)."""

    def __hash__(self) -> int: ...

    def moment(self, at: datetime, style: TimeStyle) -> str:
        """A point in time, in the reader's own clock."""

    def channel(self, channel_id: int) -> str:
        """A channel, as a link."""
