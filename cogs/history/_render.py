"""The words of /history and /show: a page of jobs, a job's status, and the caption of a job shown again.

Every text comes from the catalogues (``[history]``, ``[show]``) in the reader's language; what the
member wrote is shown as an inert excerpt (no markdown, no mentions).
"""

from __future__ import annotations

import logging

from bot.i18n import Texts
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.members import PLACEHOLDERS, HistoryEntry, HistoryPage
from bot.money import format_money
from cogs._shared.text import excerpt, when

log = logging.getLogger(__name__)

PROMPT_CHARS = 90
CAPTION_PROMPT_CHARS = 300
RUNNING = frozenset(
    {
        TaskStatus.QUEUED,
        TaskStatus.SUBMITTING,
        TaskStatus.UNKNOWN,
        TaskStatus.RUNNING,
        TaskStatus.COMPLETED,
        TaskStatus.DELIVERING,
    }
)
NOTHING_MADE = frozenset({TaskStatus.FAILED, TaskStatus.REJECTED, TaskStatus.CANCELLED})


def status_word(t: Texts, status: TaskStatus) -> str:
    """``✅ posted``, ``❌ failed``… in the reader's language."""
    return t(f"history.status.{status.value}")


def jump_url(task: TaskRecord, message_id: int) -> str:
    """A link to one of the task's channel messages."""
    return f"https://discord.com/channels/{task.guild_id or '@me'}/{task.channel_id}/{message_id}"


def result_url(task: TaskRecord) -> str | None:
    """The link to the job's result post, when it is in a channel (not for a job sent by DM)."""
    if task.hidden or not task.result_message_ids:
        return None
    return jump_url(task, task.result_message_ids[0])


def images_made(task: TaskRecord) -> int:
    """The images EggAPI made, or those asked for while it has made none."""
    return len(task.output_urls) or task.count


def cost_text(t: Texts, entry: HistoryEntry) -> str:
    """What the job costs as the ledger counts it: held while running, nothing once released."""
    cost = entry.cost
    if cost is None:
        return t("history.cost_unknown")
    if entry.held:
        return t("history.cost_held", amount=format_money(cost))
    if cost == 0:
        return t("history.cost_free")
    return format_money(cost)


def entry_text(t: Texts, entry: HistoryEntry) -> str:
    """One job: number, status, images, cost and when; then its prompt and a link to its result."""
    task = entry.task
    head = t(
        "history.entry",
        job=task.id,
        status=status_word(t, task.status),
        images=t("common.images", count=images_made(task)),
        cost=cost_text(t, entry),
        when=when(task.created_at, "R"),
    )
    line = f"> {excerpt(task.prompt, PROMPT_CHARS)}"
    url = result_url(task)
    if url is not None:
        line += " · " + t("history.result_link", url=url)
    elif task.hidden and task.status is TaskStatus.DELIVERED:
        line += " · " + t("history.sent_by_dm")
    return f"{head}\n{line}"


def page_text(t: Texts, page: HistoryPage, *, own: bool) -> str:
    """A page of a member's jobs, newest first (``own``: the reader's own, else a moderator's view)."""
    if not page.entries:
        return t("history.empty_own") if own else t("history.empty_member", member=page.member_id)
    key = "history.title_own" if own else "history.title_member"
    lines = [t(key, member=page.member_id, page=page.number, pages=page.pages, count=page.total)]
    lines += [entry_text(t, entry) for entry in page.entries]
    lines.append(t("history.footer"))
    return "\n".join(lines)


def no_result_key(task: TaskRecord) -> str | None:
    """Why /show has no images to show for this job (a catalogue key), or None when it may have some."""
    if task.status in RUNNING:
        return "show.running"
    if task.status is TaskStatus.CANCELLED:
        return "show.cancelled"
    if task.status in NOTHING_MADE:
        return "show.failed"
    if task.prompt in PLACEHOLDERS or (not any(task.output_urls) and not task.result_message_ids):
        return "show.erased"  # /mydata delete (or /policy forget) took its links
    return None


def show_caption(t: Texts, entry: HistoryEntry, *, show_cost: bool) -> str:
    """The caption of a job shown again: who asked and when, its prompt, its options, its original post."""
    task = entry.task
    details = [t("common.images", count=images_made(task)), task.aspect_ratio or "16:9"]
    if task.resolution:
        details.append(task.resolution)
    if show_cost and entry.cost is not None and not entry.held:
        details.append(format_money(entry.cost))
    lines = [
        t("show.heading", job=task.id, member=task.member_id, when=when(task.created_at, "f")),
        f"**{excerpt(task.prompt, CAPTION_PROMPT_CHARS)}**",
    ]
    if task.negative_prompt:
        lines.append(t("show.without", text=excerpt(task.negative_prompt, 200)))
    tail = f"`{' · '.join(details)}`"
    url = result_url(task)
    if url is not None:
        tail += " · " + t("show.original", url=url)
    lines.append(tail)
    return "\n".join(lines)
