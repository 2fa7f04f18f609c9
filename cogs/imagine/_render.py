"""Text the members read: status lines, result captions and failure notices.

Members know the upstream as "the image service" (``SERVICE``); the vendor's name and its task ids
stay in the logs and in the moderators' /usage reports.
"""

from __future__ import annotations

from decimal import Decimal

from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.ports import Phase, Progress
from bot.money import format_money
from cogs._shared.text import excerpt, images, when, word

PROMPT_EXCERPT = 300
SERVICE = "the image service"

_HEADLINES = {
    Phase.QUEUED: "⏳ **Queued**",
    Phase.SUBMITTING: f"📨 **Sending to {SERVICE}**",
    Phase.PENDING: f"⏳ **Waiting in {SERVICE}'s queue**",
    Phase.PROCESSING: "🎨 **Generating**",
    Phase.STILL_RUNNING: "🐢 **Taking longer than usual**",
    Phase.UNCONFIRMED: f"🔎 **Checking with {SERVICE}**",
    Phase.DELIVERING: "📦 **Posting**",
    Phase.DONE: "✅ **Done**",
    Phase.FAILED: "❌ **Failed**",
    Phase.UNDELIVERABLE: "⚠️ **Made, but not posted**",
    Phase.CANCELLED: "✖️ **Cancelled** (nothing was charged)",
    Phase.STALE: f"🕸️ **Stuck at {SERVICE}**",
}
BUSY_HEADLINE = f"🚦 **{SERVICE.capitalize()} is busy, retrying**"  # instead of Queued / Sending while it is
_FINAL = frozenset({Phase.DONE, Phase.FAILED, Phase.UNDELIVERABLE, Phase.CANCELLED})


def elapsed_text(seconds: float) -> str:
    """``0:07``, ``12:30`` or ``1:02:03``."""
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def settings_text(task: TaskRecord, cost: Decimal | None = None, made: int | None = None) -> str:
    """``2 images · 16:9 · 2k · edit of 1 image · $0.02``; ``1 of 3 images …`` when fewer were made."""
    wanted = images(task.count)
    amount = wanted if made is None or made >= task.count else f"{made} of {wanted}"
    parts = [amount, task.aspect_ratio or "16:9"]
    if task.resolution:
        parts.append(task.resolution)
    if task.reference_urls:
        parts.append(f"edit of {images(len(task.reference_urls))}")
    if cost is not None:
        parts.append(format_money(cost))
    return " · ".join(parts)


def jump_url(task: TaskRecord, message_id: int) -> str:
    """A link to one of the task's messages."""
    return f"https://discord.com/channels/{task.guild_id or '@me'}/{task.channel_id}/{message_id}"


def status_text(task: TaskRecord, progress: Progress) -> str:
    """The status message for a task at some point of its life.

    While the job runs, how long ago it was asked for is a live timestamp that the member's app
    counts up by itself, so the message changes (and is edited) only when its phase does; once it
    ended, how long it took.
    """
    headline = BUSY_HEADLINE if progress.busy else _HEADLINES[progress.phase]
    if progress.phase is Phase.QUEUED and progress.detail:
        headline += f" · #{progress.detail} in line"
    age = elapsed_text(progress.elapsed) if progress.phase in _FINAL else f"asked {when(task.created_at, 'R')}"
    lines = [f"{headline} · job #{task.id} · {age}", f"> {excerpt(task.prompt, 200)}"]
    lines.append(f"`{settings_text(task)}`")
    # The tracker passes EggAPI's task id as the detail of the running phases: it is not for members.
    if progress.phase is Phase.STILL_RUNNING:
        lines.append(
            f"The image service is taking longer than usual. I'll post {_them(task)} here as soon as it's done."
        )
    elif progress.phase is Phase.STALE:
        lines.append(
            f"This is taking far longer than usual. I'm still checking and will post {_them(task)} here "
            "if it finishes; there's nothing you need to do."
        )
    elif progress.phase is Phase.UNCONFIRMED:
        lines.append(
            progress.detail or f"The request may not have reached {SERVICE}; checking before anything is sent again."
        )
    elif progress.phase in (Phase.FAILED, Phase.UNDELIVERABLE) and progress.detail:
        lines.append(progress.detail)
    elif progress.phase is Phase.DONE and task.result_message_ids:
        lines.append(f"Posted: {jump_url(task, task.result_message_ids[0])}")
    return "\n".join(lines)


def _shown_cost(task: TaskRecord, show_cost: bool) -> Decimal | None:
    # A server may hide costs from public posts (/quota captions); members still see theirs in /balance.
    return task.cost if show_cost else None


def result_text(task: TaskRecord, show_cost: bool = True) -> str:
    """The caption of the message that carries the images (without the cost when the server hides it)."""
    lines = [f"<@{task.member_id}> **{excerpt(task.prompt, PROMPT_EXCERPT)}**"]
    if task.negative_prompt:
        lines.append(f"Without: {excerpt(task.negative_prompt, 200)}")
    lines.append(f"`{settings_text(task, _shown_cost(task, show_cost), made(task))}` · job #{task.id}")
    return "\n".join(lines)


def rerouted_note(task: TaskRecord) -> str | None:
    """Why the images are where they are, when they could not go where they were meant to."""
    if task.rerouted is None:
        return None
    if task.hidden:
        return f"I could not post these in the channel ({task.rerouted}), so here they are."
    return "I could not send these to you by direct message, so here they are."


def batch_text(tasks: list[TaskRecord], show_cost: bool = True) -> str:
    """The caption of one message carrying several jobs' images, in attachment order."""
    return "\n".join(
        f"<@{task.member_id}> **{excerpt(task.prompt, 90)}** · "
        f"`{settings_text(task, _shown_cost(task, show_cost), made(task))}` "
        f"· job #{task.id}"
        for task in tasks
    )


def made(task: TaskRecord) -> int | None:
    """How many images EggAPI actually made (None before it finished)."""
    return len(task.output_urls) if task.output_urls else None


def _them(task: TaskRecord) -> str:
    return f"the {word(task.count, 'image')}"


def stale_text(task: TaskRecord) -> str:
    """The notice for a job stuck upstream far longer than usual (no upstream ids: members can't use them)."""
    return (
        f"<@{task.member_id}> job #{task.id} (**{excerpt(task.prompt, 200)}**) is stuck on {SERVICE}'s side. "
        f"I'm still checking and will post {_them(task)} here if it finishes; there's nothing you need to do."
    )


def failure_status_text(task: TaskRecord, reason: str, show_cost: bool = True) -> str:
    """The status message turned into the failure notice: how the job ended, in one message."""
    phase = Phase.UNDELIVERABLE if task.status is TaskStatus.UNDELIVERABLE else Phase.FAILED
    return f"{_HEADLINES[phase]}\n{failure_text(task, reason, show_cost)}"


def failure_text(task: TaskRecord, reason: str, show_cost: bool = True) -> str:
    """The notice a member gets when a task produced nothing, or was made but could not be posted."""
    what = f"**{excerpt(task.prompt, 200)}** (job #{task.id})"
    if task.status is TaskStatus.UNDELIVERABLE:
        count = made(task) or task.count
        noun, verb = word(count, "image"), word(count, "was", "were")
        cost = f" ({format_money(task.cost)})" if task.cost and show_cost else ""
        return (
            f"<@{task.member_id}> your {noun} for {what} {verb} made but could not be delivered. {reason} "
            f"The job still counts toward your budget{cost}."
        )
    charged = task.cost is not None and task.cost > 0
    said = "nothing was charged" in reason.lower()  # some reasons say it already (the status message shows them)
    tail = "" if charged or said else " Nothing was charged."
    noun, verb = word(task.count, "image"), word(task.count, "was", "were")
    return f"<@{task.member_id}> your {noun} for {what} {verb} not made. {reason}{tail}"
