"""Text the members read: status lines, result captions and failure notices, in the asking member's language.

Members know the upstream as "the image service"; the vendor's name and its task ids stay in the logs
and in the moderators' /usage reports. Every word is in the catalogues (``job.*``), rendered in the
language of the member who asked (``TaskRecord.locale``), whoever reads the channel.
"""

from __future__ import annotations

from decimal import Decimal

from bot.app.locales import for_task
from bot.i18n import Moment, Text, Texts, texts
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.ports import Phase, Progress
from bot.money import format_money
from cogs._shared.text import excerpt

PROMPT_EXCERPT = 300

_FINAL = frozenset({Phase.DONE, Phase.FAILED, Phase.UNDELIVERABLE, Phase.CANCELLED})


def headline(t: Texts, phase: Phase, busy: bool = False) -> str:
    """``⏳ **Queued**``: what the status message says first (while EggAPI refuses for load, that it does)."""
    return t("job.busy") if busy else t(f"job.phase.{phase.value}")


def elapsed_text(seconds: float) -> str:
    """``0:07``, ``12:30`` or ``1:02:03``."""
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def settings_text(t: Texts, task: TaskRecord, cost: Decimal | None = None, made: int | None = None) -> str:
    """``2 images · 16:9 · 2k · edit of 1 image · $0.02``; ``1 of 3 images …`` when fewer were made."""
    if made is None or made >= task.count:
        amount = t("common.images", count=task.count)
    else:
        amount = t("job.made_of", made=made, count=task.count)
    parts = [amount, task.aspect_ratio or "16:9"]
    if task.resolution:
        parts.append(task.resolution)
    if task.reference_urls:
        parts.append(t("job.edit_of", count=len(task.reference_urls)))
    if cost is not None:
        parts.append(format_money(cost))
    return " · ".join(parts)


def jump_url(task: TaskRecord, message_id: int) -> str:
    """A link to one of the task's messages."""
    return f"https://discord.com/channels/{task.guild_id or '@me'}/{task.channel_id}/{message_id}"


def status_text(task: TaskRecord, progress: Progress) -> str:
    """The status message for a task at some point of its life.

    While the job runs, when it was asked for is a live timestamp that the member's app counts up by
    itself, so the message changes (and is edited) only when its phase does; once it ended, how long
    it took.
    """
    t = for_task(task)
    top = [headline(t, progress.phase, progress.busy)]
    if progress.phase is Phase.QUEUED and progress.detail:
        top.append(t("job.in_line", place=progress.detail))
    age = elapsed_text(progress.elapsed) if progress.phase in _FINAL else t("job.asked", when=Moment(task.created_at))
    top += [t("job.number", id=task.id), age]
    lines = [" · ".join(top), f"> {excerpt(task.prompt, 200)}", f"`{settings_text(t, task)}`"]
    # The tracker passes EggAPI's task id as the detail of the running phases: it is not for members.
    if progress.phase is Phase.STILL_RUNNING:
        lines.append(t("job.still_running", count=task.count))
    elif progress.phase is Phase.STALE:
        lines.append(t("job.stale", count=task.count))
    elif progress.phase is Phase.UNCONFIRMED:
        note = progress.detail if progress.detail and t.has(progress.detail) else "job.unconfirmed"
        lines.append(t(note))
    elif progress.phase is Phase.DONE and task.result_message_ids:
        lines.append(t("job.posted", link=jump_url(task, task.result_message_ids[0])))
    return "\n".join(lines)


def _shown_cost(task: TaskRecord, show_cost: bool) -> Decimal | None:
    # A server may hide costs from public posts (/quota captions); members still see theirs in /balance.
    return task.cost if show_cost else None


def result_text(task: TaskRecord, show_cost: bool = True) -> str:
    """The caption of the message that carries the images (without the cost when the server hides it)."""
    t = for_task(task)
    lines = [f"<@{task.member_id}> **{excerpt(task.prompt, PROMPT_EXCERPT)}**"]
    if task.negative_prompt:
        lines.append(t("job.without", text=excerpt(task.negative_prompt, 200)))
    settings = settings_text(t, task, _shown_cost(task, show_cost), made(task))
    lines.append(f"`{settings}` · {t('job.number', id=task.id)}")
    return "\n".join(lines)


def continued_text(task: TaskRecord, number: int, total: int) -> str:
    """The caption of a result's further messages."""
    return for_task(task)("job.continued", id=task.id, number=number, total=total)


def links_text(task: TaskRecord, links: list[str]) -> str:
    """The line that links the outputs too large to attach."""
    return for_task(task)("job.too_large_links", links=" ".join(f"<{link}>" for link in links))


def stored_reason(t: Texts, reason: str) -> str:
    """A reason stored with the task: the text its catalogue key names, or the words stored before keys."""
    return t(reason) if t.has(reason) else reason


def rerouted_note(task: TaskRecord) -> str | None:
    """Why the images are where they are, when they could not go where they were meant to."""
    if task.rerouted is None:
        return None
    t = for_task(task)
    if task.hidden:
        return t("job.rerouted_to_dm", why=stored_reason(t, task.rerouted))
    return t("job.rerouted_to_channel")


def batch_text(tasks: list[TaskRecord], show_cost: bool = True) -> str:
    """The caption of one message carrying several jobs' images, in attachment order: each line in its
    member's language."""
    lines = []
    for task in tasks:
        t = for_task(task)
        settings = settings_text(t, task, _shown_cost(task, show_cost), made(task))
        lines.append(
            f"<@{task.member_id}> **{excerpt(task.prompt, 90)}** · `{settings}` · {t('job.number', id=task.id)}"
        )
    return "\n".join(lines)


def made(task: TaskRecord) -> int | None:
    """How many images EggAPI actually made (None before it finished)."""
    return len(task.output_urls) if task.output_urls else None


def stale_text(task: TaskRecord) -> str:
    """The notice for a job stuck upstream far longer than usual (no upstream ids: members can't use them)."""
    t = for_task(task)
    return t("job.stuck", member=f"<@{task.member_id}>", id=task.id, prompt=excerpt(task.prompt, 200), count=task.count)


def failure_status_text(task: TaskRecord, reason: Text, show_cost: bool = True) -> str:
    """The status message turned into the failure notice: how the job ended, in one message."""
    phase = Phase.UNDELIVERABLE if task.status is TaskStatus.UNDELIVERABLE else Phase.FAILED
    return f"{headline(for_task(task), phase)}\n{failure_text(task, reason, show_cost)}"


def failure_text(task: TaskRecord, reason: Text, show_cost: bool = True) -> str:
    """The notice a member gets when a task produced nothing, or was made but could not be posted."""
    t = for_task(task)
    what = {"member": f"<@{task.member_id}>", "prompt": excerpt(task.prompt, 200), "id": task.id, "reason": reason}
    if task.status is TaskStatus.UNDELIVERABLE:
        cost = f" ({format_money(task.cost)})" if task.cost and show_cost else ""
        return t("job.undeliverable", count=made(task) or task.count, cost=cost, **what)
    charged = task.cost is not None and task.cost > 0
    said = "nothing was charged" in texts(None).render(reason).lower()  # some reasons say it already
    key = "job.not_made" if charged or said else "job.not_made_free"
    return t(key, count=task.count, **what)
