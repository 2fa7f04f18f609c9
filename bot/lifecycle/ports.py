"""The seam between the core and the chat side: what the tracker asks to be shown.

The core describes a task's progress and outcome with plain values; an implementation of
``Publisher`` (the Discord adapter in ``cogs/imagine``) turns them into messages.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.eggapi import DownloadedImage, InsufficientBalance
from bot.i18n import Text
from bot.lifecycle.model import TaskRecord


class Phase(enum.StrEnum):
    """What the member should read in the status message."""

    QUEUED = "queued"
    SUBMITTING = "submitting"
    PENDING = "pending"  # accepted by EggAPI, waiting in its queue
    PROCESSING = "processing"  # a worker is drawing it
    STILL_RUNNING = "still_running"  # past the bot's deadline; will still be delivered
    UNCONFIRMED = "unconfirmed"  # the submit's outcome is being checked
    DELIVERING = "delivering"
    DONE = "done"
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"
    CANCELLED = "cancelled"
    STALE = "stale"  # upstream for far too long; still delivered if it ever completes


RUNNING_PHASES = frozenset(
    {Phase.SUBMITTING, Phase.PENDING, Phase.PROCESSING, Phase.STILL_RUNNING, Phase.UNCONFIRMED, Phase.STALE}
)


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot for the status message: ``busy`` when it waits because EggAPI said it is overloaded."""

    phase: Phase
    elapsed: float
    detail: str | None = None  # QUEUED: the place in line; UNCONFIRMED: the catalogue key of a note
    busy: bool = False


@dataclass(frozen=True, slots=True)
class ResultPart:
    """One message of a task's result: the outputs it carries as files, and those only linked (too large)."""

    images: tuple[DownloadedImage, ...]
    indexes: tuple[int, ...]  # positions in ``task.output_urls`` of ``images``
    links: tuple[int, ...]  # positions of outputs too large to attach, linked in the text instead
    number: int  # 1-based; the first part carries the caption and the buttons
    total: int
    key: str  # the post's idempotency key


# (task id, output index) -> id of the message that carries that image
PostedImages = dict[tuple[int, int], int]


class DestinationGone(Exception):
    """The channel cannot receive the result (deleted, or the bot lacks permission).

    Its argument is the catalogue key of why (``delivery.gone.*``): it is stored with the task and
    shown, in its member's language, next to the images that went the other way.
    """


class Publisher(Protocol):
    """Shows tasks to members; implemented by the Discord side."""

    async def show_progress(self, task: TaskRecord, progress: Progress) -> None:
        """Update the task's status message. Must not raise for a vanished message."""

    async def remove_status(self, task: TaskRecord) -> bool:
        """Delete the task's status message (its result is posted); True once it is gone, False to try later."""

    async def find_posted(self, tasks: list[TaskRecord], since: datetime) -> PostedImages:
        """Which of these tasks' images the bot already posted since ``since`` (a lost answer or a crash).

        Only the bot's own posts count, recognised by what a member cannot type; {} if unreadable.
        """

    @property
    def max_files_per_message(self) -> int:
        """How many files one message may carry."""

    def upload_limit(self, task: TaskRecord) -> int:
        """Bytes one message to the task's destination may carry."""

    async def deliver_batch(
        self, tasks: list[TaskRecord], images: dict[int, list[DownloadedImage]], key: str
    ) -> list[int]:
        """Post several tasks' images as one message (they fit the limits) under ``key``; same errors as deliver.

        A post repeated with the same ``key`` must not appear twice (for as long as the platform allows).
        """

    async def deliver(self, task: TaskRecord, part: ResultPart) -> int:
        """Post one part of the result once (under ``part.key``); return the message id.

        Raises DestinationGone when the channel cannot take the post; any other exception
        means "try again later".
        """

    async def announce_failure(self, task: TaskRecord, reason: Text) -> None:
        """Tell the member their task produced nothing, and why (a member-safe catalogue text).

        In its status message when it can still be edited, else in a notice of its own.
        """

    async def announce_stale(self, task: TaskRecord) -> None:
        """Tell the member their task has been stuck upstream for a long time but is still followed."""

    async def image_url(self, task: TaskRecord, index: int) -> str | None:
        """A link that works now to output ``index`` (0-based) as the task's result posted it.

        The platform's links to uploaded files expire, so it is read afresh from the posted message;
        None when that message or the image in it is gone. Other errors raise.
        """


MODERATION_WORDS = ("moderation", "prohibited", "safety", "nsfw", "policy", "blocked")
BALANCE_WORDS = ("balance", "insufficient", "credit", "quota")


def failure_code(error: str | None) -> str:
    """What kind of upstream failure this was, for the task's record.

    EggAPI's failure text is free text that may echo anything (a key, a secret, a URL): only this
    code is stored, never the text itself.
    """
    text = (error or "").lower()
    if any(word in text for word in MODERATION_WORDS):
        return "CONTENT_MODERATION"
    if any(word in text for word in BALANCE_WORDS):
        return "INSUFFICIENT_BALANCE"
    if "timeout" in text or "timed out" in text:
        return "UPSTREAM_TIMEOUT"
    return "UPSTREAM_FAILED"


def describe_failure(error: str | None) -> Text:
    """A member-safe text for an upstream failure text (which is never shown raw).

    Members know the upstream as "the image service"; out of credit reads exactly as the
    403 INSUFFICIENT_BALANCE refusal at submit, so both paths name the same person.
    """
    text = (error or "").lower()
    if any(word in text for word in MODERATION_WORDS):
        return Text("service.content_filter")
    if any(word in text for word in BALANCE_WORDS):
        return Text(InsufficientBalance.user_key)
    if "timeout" in text or "timed out" in text:
        return Text("service.timed_out")
    return Text("service.not_finished")
