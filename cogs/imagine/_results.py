"""What members read about building on a result: where a job came from, its Details, a picked image.

Texts come from the ``[results]`` catalogue table, and each function takes the ``Texts`` of whoever
reads it: what is posted in the channel for a job (its status and caption) is in the job's own
language (``for_task``); answers only the clicker sees are in theirs (``for_member``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.app.locales import for_task
from bot.i18n import Moment, Texts
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.remakes import images_made, upscales
from bot.money import format_money
from cogs._shared.text import excerpt
from cogs.imagine._render import elapsed_text, jump_url, settings_text

if TYPE_CHECKING:
    from bot.app.client import EggBot

PANEL_PROMPT = 200
DETAILS_PROMPT = 1200  # with the rest, well under a message's 2,000 characters
DETAILS_NEGATIVE = 300
_ORIGIN_KEYS = {
    "reroll": "results.origin_reroll",
    "vary": "results.origin_vary",
    "edit": "results.origin_edit",
    "upscale": "results.origin_upscale",
    "remix": "results.origin_remix",
}


def result_link(task: TaskRecord) -> str | None:
    """A link to the job's result post, while it has one."""
    return jump_url(task, task.result_message_ids[0]) if task.result_message_ids else None


def origin_text(t: Texts, task: TaskRecord, origin: TaskRecord | None) -> str | None:
    """``🎨 Variation of image 2 of job #11: <link to job #11's result>``; None for a job made from scratch."""
    key = _ORIGIN_KEYS.get(task.origin_kind or "")
    if task.origin_task_id is None or key is None:
        return None
    what = t(key, job=task.origin_task_id, image=task.origin_image or 1, resolution=task.resolution or "")
    link = result_link(origin) if origin is not None else None
    return t("results.origin_link", origin=what, link=link) if link else what


async def origin_line(bot: EggBot, task: TaskRecord) -> str | None:
    """Where the job came from, for its status and caption (in the job's language), with a jump link."""
    if task.origin_task_id is None:
        return None
    return origin_text(for_task(task), task, await bot.task_store.get(task.origin_task_id))


def with_line(text: str, line: str | None) -> str:
    """``text`` with ``line`` under it, when there is one."""
    return text if line is None else f"{text}\n{line}"


def panel_text(t: Texts, task: TaskRecord, image: int) -> str:
    """The answer to picking one image: which one, and what each button makes of it."""
    lines = [
        t(
            "results.panel",
            image=image,
            total=images_made(task),
            job=task.id,
            prompt=excerpt(task.prompt, PANEL_PROMPT),
        ),
        t("results.panel_vary", count=task.count),
        t("results.panel_again") if upscales(task) else t("results.panel_largest"),
    ]
    return "\n".join(lines)


def details_text(t: Texts, task: TaskRecord, origin: TaskRecord | None, *, show_cost: bool) -> str:
    """Everything about how a job was made: prompt, options, cost, time taken, who asked, where it came from."""
    lines = [
        t("results.details_title", job=task.id, member=task.member_id, when=Moment(task.created_at, "R")),
        t("results.details_prompt", prompt=excerpt(task.prompt, DETAILS_PROMPT)),
    ]
    if task.negative_prompt:
        lines.append(t("results.details_negative", negative=excerpt(task.negative_prompt, DETAILS_NEGATIVE)))
    lines.append(t("results.details_options", options=f"`{settings_text(t, task)}`"))
    if show_cost and task.cost is not None:
        lines.append(t("results.details_cost", cost=format_money(task.cost)))
    ended = task.delivered_at or task.finished_at
    if task.status is TaskStatus.DELIVERED and ended is not None:
        lines.append(t("results.details_took", duration=elapsed_text((ended - task.created_at).total_seconds())))
    elif not task.is_terminal:
        lines.append(t("results.details_unfinished"))
    elif task.status is not TaskStatus.DELIVERED:
        lines.append(t("results.details_no_images"))
    link = result_link(task)
    if task.status is TaskStatus.DELIVERED:
        lines.append(t("results.details_result", link=link) if link else t("results.details_no_result"))
    came_from = origin_text(t, task, origin)
    if came_from is not None:
        lines.append(t("results.details_from", origin=came_from))
    return "\n".join(lines)
