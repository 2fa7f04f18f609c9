"""Text the members read: status lines, result captions and failure notices."""

from __future__ import annotations

from decimal import Decimal

import discord

from bot.eggapi import format_cost
from bot.publishing import Phase, Progress
from bot.tasks import TaskRecord, TaskStatus

PROMPT_EXCERPT = 300

_HEADLINES = {
    Phase.QUEUED: "⏳ **Queued**",
    Phase.SUBMITTING: "📨 **Sending to EggAPI**",
    Phase.PENDING: "⏳ **Waiting in EggAPI's queue**",
    Phase.PROCESSING: "🎨 **Generating**",
    Phase.STILL_RUNNING: "🐢 **Still running**",
    Phase.UNCONFIRMED: "🔎 **Checking with EggAPI**",
    Phase.DELIVERING: "📦 **Posting**",
    Phase.DONE: "✅ **Done**",
    Phase.FAILED: "❌ **Failed**",
    Phase.UNDELIVERABLE: "⚠️ **Made, but not posted**",
    Phase.CANCELLED: "✖️ **Cancelled** (nothing was charged)",
    Phase.STALE: "🕸️ **Stuck at EggAPI**",
}


def excerpt(prompt: str, limit: int = PROMPT_EXCERPT) -> str:
    """The prompt shortened and made inert (no markdown, no mentions) for display."""
    text = " ".join(prompt.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def elapsed_text(seconds: float) -> str:
    """``0:07``, ``12:30`` or ``1:02:03``."""
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def settings_text(task: TaskRecord, cost: Decimal | None = None) -> str:
    """``2 images · 16:9 · 2k · edit · $0.0200``."""
    parts = [f"{task.count} image{'s' if task.count != 1 else ''}", task.aspect_ratio or "16:9"]
    if task.resolution:
        parts.append(task.resolution)
    if task.reference_urls:
        parts.append(f"edit of {len(task.reference_urls)} image{'s' if len(task.reference_urls) != 1 else ''}")
    if cost is not None:
        parts.append(format_cost(cost))
    return " · ".join(parts)


def jump_url(task: TaskRecord, message_id: int) -> str:
    """A link to one of the task's messages."""
    return f"https://discord.com/channels/{task.guild_id or '@me'}/{task.channel_id}/{message_id}"


def status_text(task: TaskRecord, progress: Progress) -> str:
    """The status message for a task at some point of its life."""
    headline = _HEADLINES[progress.phase]
    if progress.phase is Phase.QUEUED and progress.detail:
        headline += f" · #{progress.detail} in line"
    lines = [f"{headline} · job #{task.id} · {elapsed_text(progress.elapsed)}", f"> {excerpt(task.prompt, 200)}"]
    lines.append(f"`{settings_text(task)}`")
    if progress.phase is Phase.STILL_RUNNING:
        lines.append(
            f"EggAPI is taking longer than usual (task `{progress.detail}`). "
            "The images will be posted here as soon as they are ready."
        )
    elif progress.phase is Phase.UNCONFIRMED:
        lines.append(
            progress.detail or "The request may not have reached EggAPI; checking before anything is sent again."
        )
    elif progress.phase in (Phase.FAILED, Phase.UNDELIVERABLE) and progress.detail:
        lines.append(progress.detail)
    elif progress.phase is Phase.DONE and task.result_message_ids:
        lines.append(f"Posted: {jump_url(task, task.result_message_ids[0])}")
    return "\n".join(lines)


def result_text(task: TaskRecord) -> str:
    """The caption of the message that carries the images."""
    lines = [f"<@{task.member_id}> **{excerpt(task.prompt)}**"]
    if task.negative_prompt:
        lines.append(f"Without: {excerpt(task.negative_prompt, 200)}")
    lines.append(f"`{settings_text(task, task.cost)}` · job #{task.id}")
    return "\n".join(lines)


def rerouted_note(task: TaskRecord) -> str | None:
    """Why the images are where they are, when they could not go where they were meant to."""
    if task.rerouted is None:
        return None
    if task.hidden:
        return f"I could not post these in the channel ({task.rerouted}), so here they are."
    return "I could not send these to you by direct message, so here they are."


def batch_text(tasks: list[TaskRecord]) -> str:
    """The caption of one message carrying several jobs' images, in attachment order."""
    return "\n".join(
        f"<@{task.member_id}> **{excerpt(task.prompt, 90)}** · `{settings_text(task, task.cost)}` · job #{task.id}"
        for task in tasks
    )


def stale_text(task: TaskRecord) -> str:
    """The notice for a job stuck at EggAPI far longer than usual."""
    return (
        f"<@{task.member_id}> your job #{task.id} (**{excerpt(task.prompt, 200)}**) has been stuck at EggAPI for a "
        f"long time (task `{task.egg_task_id}`). I'm still checking on it and will post the images if it finishes."
    )


def failure_text(task: TaskRecord, reason: str) -> str:
    """The notice a member gets when a task produced nothing, or was made but could not be posted."""
    if task.status is TaskStatus.UNDELIVERABLE:
        cost = f" ({format_cost(task.cost)})" if task.cost else ""
        return (
            f"<@{task.member_id}> your images for **{excerpt(task.prompt, 200)}** (job #{task.id}) were made but "
            f"could not be delivered. {reason} EggAPI charged for them{cost}."
        )
    charged = task.cost is not None and task.cost > 0
    tail = "" if charged else " Nothing was charged."
    what = f"your image for **{excerpt(task.prompt, 200)}** (job #{task.id})"
    return f"<@{task.member_id}> {what} was not made. {reason}{tail}"
