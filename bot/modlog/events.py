"""What the mod-log records, as plain values, and the port the chat side implements to show it.

The core never renders: mentions, jump links and money are the chat side's to write
(``ModLogPort.line``), so these events carry ids and amounts, not text for Discord.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from bot.i18n import Text
from bot.lifecycle.model import TaskRecord


@dataclass(frozen=True, slots=True)
class JobPosted:
    """A member's job was delivered: who, what, for how much, and where the result is."""

    member_id: int
    task_id: int
    prompt: str
    options: tuple[Text | str, ...]  # "negative: …", "16:9", "2 images", … as the member chose them
    cost: Decimal | None  # EggAPI's cost for the task; None when unknown
    channel_id: int | None  # None: sent to the member by DM (a hidden job), no link to give
    message_id: int | None


@dataclass(frozen=True, slots=True)
class JobRefused:
    """The server's rules refused a request before anything was recorded."""

    member_id: int
    rule: Text | str  # which rule, for moderators (a term may be named here, never to members)
    prompt: str


@dataclass(frozen=True, slots=True)
class SettingChanged:
    """A moderator changed a quota or policy setting."""

    moderator_id: int
    what: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class MemberForgotten:
    """A moderator erased a member's prompts, links and settings (the ledger's amounts stay)."""

    moderator_id: int
    member_id: int
    jobs: int  # tasks whose prompt and links were erased
    unfinished: int  # tasks still under way, left alone


@dataclass(frozen=True, slots=True)
class EventsDropped:
    """The guild's queue overflowed: this many older events were not logged."""

    count: int


ModLogEvent = JobPosted | JobRefused | SettingChanged | MemberForgotten | EventsDropped


class ModLogUnavailable(Exception):
    """The mod-log channel cannot take posts (deleted, or the bot lacks access or permission)."""


class ModLogPort(Protocol):
    """Renders and posts mod-log lines; implemented by the Discord side."""

    def line(self, guild_id: int, event: ModLogEvent) -> str:
        """One line for ``event`` (at most ``MAX_POST_CHARS``; longer ones are cut)."""

    async def post_modlog(self, channel_id: int, text: str) -> None:
        """Post ``text`` in the channel. Raises ModLogUnavailable for a missing channel or permission;
        anything else is treated as passing (the lines are dropped, logged)."""


def job_posted(task: TaskRecord, message_ids: Sequence[int]) -> JobPosted:
    """The mod-log's view of a delivered task."""
    options: list[Text | str] = []
    if task.negative_prompt:
        options.append(Text("modlog.negative", text=task.negative_prompt))
    if task.aspect_ratio:
        options.append(task.aspect_ratio)
    if task.resolution:
        options.append(task.resolution)
    options.append(Text("common.images", count=task.count))
    if task.reference_urls:
        options.append(Text("modlog.references", count=len(task.reference_urls)))
    shown = not task.hidden and bool(message_ids)
    return JobPosted(
        member_id=task.member_id,
        task_id=task.id,
        prompt=task.prompt,
        options=tuple(options),
        cost=task.cost,
        channel_id=task.channel_id if shown else None,
        message_id=message_ids[0] if shown else None,
    )
