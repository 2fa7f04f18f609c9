"""What a generation job is: its request, its states and the rules for moving between them.

Pure values and functions, no I/O. The storage layer persists these; the tracker moves a task
through the states; the Discord side renders them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.eggapi import (
    ASPECT_RATIOS,
    MAX_IMAGE_URLS,
    MAX_NEGATIVE_PROMPT_CHARS,
    MAX_NUM_OUTPUTS,
    MAX_PROMPT_CHARS,
    RESOLUTIONS,
)
from bot.errors import InvalidRequest
from bot.i18n import Number

# EggAPI's documented limits, under the names the bot's rules use.
PROMPT_MAX = MAX_PROMPT_CHARS
NEGATIVE_PROMPT_MAX = MAX_NEGATIVE_PROMPT_CHARS
COUNT_MIN, COUNT_MAX = 1, MAX_NUM_OUTPUTS
REFERENCE_IMAGES_MAX = MAX_IMAGE_URLS


class TaskStatus(enum.StrEnum):
    """Where a task is in its life; see ``TRANSITIONS``."""

    QUEUED = "queued"  # recorded, not yet sent to EggAPI
    SUBMITTING = "submitting"  # the POST is under way
    UNKNOWN = "unknown"  # the POST may or may not have created a task upstream
    RUNNING = "running"  # EggAPI accepted it (pending or processing upstream)
    COMPLETED = "completed"  # EggAPI finished it; images not yet posted
    DELIVERING = "delivering"  # posting claimed; the post key makes a repeat post a no-op
    DELIVERED = "delivered"  # images posted, message ids recorded
    FAILED = "failed"  # EggAPI reports the task failed (moderation, provider error)
    REJECTED = "rejected"  # EggAPI refused the submit; no task upstream
    UNDELIVERABLE = "undeliverable"  # finished upstream, but cannot be posted
    CANCELLED = "cancelled"  # withdrawn before submission


TERMINAL = frozenset(
    {TaskStatus.DELIVERED, TaskStatus.FAILED, TaskStatus.REJECTED, TaskStatus.UNDELIVERABLE, TaskStatus.CANCELLED}
)

UPSTREAM = frozenset({TaskStatus.SUBMITTING, TaskStatus.UNKNOWN, TaskStatus.RUNNING})
"""Sent (or being sent) to EggAPI and not finished there: what counts against the running caps."""

TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.QUEUED: frozenset({TaskStatus.SUBMITTING, TaskStatus.CANCELLED}),
    # Back to QUEUED only when EggAPI refused for now and nothing was created (429, unreachable).
    TaskStatus.SUBMITTING: frozenset({TaskStatus.RUNNING, TaskStatus.REJECTED, TaskStatus.UNKNOWN, TaskStatus.QUEUED}),
    TaskStatus.UNKNOWN: frozenset({TaskStatus.RUNNING, TaskStatus.REJECTED}),
    TaskStatus.RUNNING: frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED}),
    TaskStatus.COMPLETED: frozenset({TaskStatus.DELIVERING, TaskStatus.UNDELIVERABLE}),
    TaskStatus.DELIVERING: frozenset({TaskStatus.DELIVERED, TaskStatus.UNDELIVERABLE, TaskStatus.COMPLETED}),
}


def can_move(old: TaskStatus, new: TaskStatus) -> bool:
    """Whether a task in ``old`` may move to ``new``."""
    return new in TRANSITIONS.get(old, frozenset())


class OriginKind(enum.StrEnum):
    """How a job was made from an earlier one (``tasks.origin_kind``)."""

    REROLL = "reroll"  # the same prompt and options again
    VARY = "vary"  # an image_edit of one picked image, with the same prompt
    EDIT = "edit"  # an image_edit of one picked image, with a new prompt
    UPSCALE = "upscale"  # one picked image again at a higher resolution
    REMIX = "remix"  # the whole job with a changed prompt


@dataclass(frozen=True, slots=True)
class ImagineRequest:
    """A member's validated /imagine request, before it is recorded."""

    guild_id: int | None
    channel_id: int
    member_id: int
    prompt: str
    negative_prompt: str | None = None
    aspect_ratio: str | None = None
    count: int = 1
    resolution: str | None = None
    reference_urls: tuple[str, ...] = ()
    interaction_id: int | None = None  # grows with the time it was asked: the order of a member's jobs
    upload_limit: int | None = None  # bytes the channel accepts per message (as the chat platform said)
    parent_channel_id: int | None = None  # a thread's channel, for a server's channel rules (not stored)
    origin_task_id: int | None = None  # the job this one was made from (reroll, variation, edit, remix…)
    origin_kind: str | None = None  # how: an OriginKind value
    origin_image: int | None = None  # which of the origin's images (1-based), when one was picked
    locale: str | None = None  # the member's chat locale (``de``, ``en-US``…), for texts rendered later


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One row of the tasks table."""

    id: int
    guild_id: int | None
    channel_id: int
    member_id: int
    prompt: str
    negative_prompt: str | None
    aspect_ratio: str | None
    count: int
    resolution: str | None
    reference_urls: tuple[str, ...]
    status: TaskStatus
    egg_task_id: str | None
    upstream_status: str | None
    cost: Decimal | None
    error: str | None
    output_urls: tuple[str, ...]
    status_message_id: int | None
    result_message_ids: tuple[int, ...]
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    finished_at: datetime | None
    delivered_at: datetime | None
    hidden: bool = False
    upload_limit: int | None = None
    stale_at: datetime | None = None
    delivery_nonce: str | None = None
    rerouted: str | None = None  # why the result goes to the other destination (see Deliverer)
    origin_task_id: int | None = None
    origin_kind: str | None = None
    origin_image: int | None = None
    locale: str | None = None
    interaction_id: int | None = None  # the chat platform's id of the interaction that asked for it

    @property
    def asked(self) -> tuple[int, int]:
        """Where this job stands among its member's own jobs: the order they were asked for.

        The asking interaction's id grows with the time it was asked (Discord's ids are snowflakes,
        time first), so jobs asked at once still start in that order when they were recorded in
        another (each on its own database connection). The job's number breaks ties, and orders
        jobs made without an interaction.
        """
        return (self.interaction_id or 0, self.id)

    @property
    def is_terminal(self) -> bool:
        """True once nothing more will happen to this task."""
        return self.status in TERMINAL

    @property
    def post_key(self) -> str:
        """The idempotency key of this task's result post: short (≤ 25 characters) for any chat platform."""
        return f"egg{self.id}"

    @property
    def mode(self) -> str:
        """``image_edit`` when reference images are given, else ``image_generate``."""
        return "image_edit" if self.reference_urls else "image_generate"


def validate_request(req: ImagineRequest) -> ImagineRequest:
    """Check a request against EggAPI's rules, returning it normalised or raising InvalidRequest."""
    prompt = req.prompt.strip()
    if not prompt:
        raise InvalidRequest(key="errors.prompt_empty")
    if len(prompt) > PROMPT_MAX:
        raise InvalidRequest(key="errors.prompt_too_long", length=Number(len(prompt)), limit=Number(PROMPT_MAX))
    negative = (req.negative_prompt or "").strip() or None
    if negative is not None and len(negative) > NEGATIVE_PROMPT_MAX:
        raise InvalidRequest(
            key="errors.negative_too_long", length=Number(len(negative)), limit=Number(NEGATIVE_PROMPT_MAX)
        )
    if not COUNT_MIN <= req.count <= COUNT_MAX:
        raise InvalidRequest(key="errors.count", low=COUNT_MIN, high=COUNT_MAX)
    if req.aspect_ratio is not None and req.aspect_ratio not in ASPECT_RATIOS:
        raise InvalidRequest(key="errors.aspect_ratio", choices=", ".join(ASPECT_RATIOS))
    if req.resolution is not None and req.resolution not in RESOLUTIONS:
        raise InvalidRequest(key="errors.resolution", choices=", ".join(RESOLUTIONS))
    if len(req.reference_urls) > REFERENCE_IMAGES_MAX:
        raise InvalidRequest(key="errors.too_many_references", count=REFERENCE_IMAGES_MAX)
    for url in req.reference_urls:
        if not url.startswith("https://") and not url.startswith("http://"):
            raise InvalidRequest(key="errors.reference_unreadable")
    return ImagineRequest(
        guild_id=req.guild_id,
        channel_id=req.channel_id,
        member_id=req.member_id,
        prompt=prompt,
        negative_prompt=negative,
        aspect_ratio=req.aspect_ratio,
        count=req.count,
        resolution=req.resolution,
        reference_urls=req.reference_urls,
        interaction_id=req.interaction_id,
        upload_limit=req.upload_limit,
        parent_channel_id=req.parent_channel_id,
        origin_task_id=req.origin_task_id,
        origin_kind=req.origin_kind,
        origin_image=req.origin_image,
        locale=req.locale,
    )
