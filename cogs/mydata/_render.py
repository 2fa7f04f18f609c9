"""/mydata's words: what is kept about a member, the list of their prompts, and the question before erasing.

In the reader's language: the member's own, or the server's for a moderator's ``/policy forget``.
"""

from __future__ import annotations

import logging

from bot.i18n import Text, Texts
from bot.lifecycle.model import TaskRecord
from bot.members import MemberRecord
from bot.money import format_money
from cogs._shared.text import excerpt, when

log = logging.getLogger(__name__)

NEWEST = 5
PROMPT_CHARS = 80
FILENAME = "my-prompts.txt"


def result_links(task: TaskRecord) -> list[str]:
    """Links to the channel messages that carry the task's result (none for a job sent by DM)."""
    if task.hidden or task.guild_id is None:
        return []
    return [f"https://discord.com/channels/{task.guild_id}/{task.channel_id}/{m}" for m in task.result_message_ids]


def _settings(t: Texts, record: MemberRecord) -> str:
    if not record.settings:
        return t("mydata.no_settings")
    return ", ".join(f"`{key}` = `{value}`" for key, value in sorted(record.settings.items()))


def show_text(t: Texts, record: MemberRecord) -> str:
    """What the bot keeps about the member in this server, in plain words."""
    finished = len(record.tasks) - record.unfinished
    lines = [
        t("mydata.title"),
        t("mydata.jobs", count=len(record.tasks), finished=finished, running=record.unfinished),
        t("mydata.spend", settled=format_money(record.settled), held=format_money(record.held)),
        t("mydata.settings", settings=_settings(t, record)),
    ]
    prompts = record.prompts
    if prompts:
        lines.append(t("mydata.prompts", shown=min(NEWEST, len(prompts)), total=len(prompts)))
        for task in prompts[:NEWEST]:
            links = result_links(task)
            where = ""
            if links:
                where = " · " + t("mydata.result", link=links[0])
            elif task.hidden:
                where = " · " + t("mydata.sent_by_dm")
            lines.append(f'- "{excerpt(task.prompt, PROMPT_CHARS)}" · {when(task.created_at)}{where}')
    else:
        lines.append(t("mydata.no_prompts"))
    lines.append(t("mydata.how_to_delete"))
    return "\n".join(lines)


def prompts_file(t: Texts, record: MemberRecord) -> str:
    """Every stored job, one a line: when, how it ended, images, cost, prompt, options, result links."""
    lines = [t("mydata.file_header")]
    for task in reversed(record.tasks):
        details = []
        if task.negative_prompt:
            details.append(t("mydata.file_negative", text=task.negative_prompt))
        if task.reference_urls:
            details.append(t("mydata.file_references", links=" ".join(task.reference_urls)))
        details += result_links(task)
        cost = "" if task.cost is None else format_money(task.cost)
        prompt = " ".join(task.prompt.split())
        lines.append(
            f"{task.created_at.isoformat(timespec='seconds')} | {t(f'job.status.{task.status.value}')} | "
            f"{len(task.output_urls)} | {cost} | {prompt} | {' '.join(details)}"
        )
    return "\n".join(lines) + "\n"


def confirm_text(t: Texts, record: MemberRecord, member_id: int | None) -> str:
    """The question before erasing (``member_id``: whose data a moderator erases; None: the reader's own)."""
    counts = {
        "jobs": Text("mydata.finished_jobs", count=record.erasable),
        "settings": Text("mydata.setting_count", count=len(record.settings)),
    }
    if member_id is None:
        lines = [t("mydata.confirm_own", **counts)]
    else:
        lines = [t("mydata.confirm_member", member=f"<@{member_id}>", **counts)]
    lines.append(t("mydata.ledger_stays"))
    if record.unfinished:
        lines.append(t("mydata.running_left_alone", count=record.unfinished))
    return "\n".join(lines)
