"""/mydata's words: what is kept about a member, the list of their prompts, and the question before erasing."""

from __future__ import annotations

import logging

from bot.lifecycle.model import TaskRecord
from bot.members import MemberRecord
from bot.money import format_money
from cogs._shared.text import excerpt, plural, when

log = logging.getLogger(__name__)

NEWEST = 5
PROMPT_CHARS = 80
FILENAME = "my-prompts.txt"


def result_links(task: TaskRecord) -> list[str]:
    """Links to the channel messages that carry the task's result (none for a job sent by DM)."""
    if task.hidden or task.guild_id is None:
        return []
    return [f"https://discord.com/channels/{task.guild_id}/{task.channel_id}/{m}" for m in task.result_message_ids]


def _settings(record: MemberRecord) -> str:
    if not record.settings:
        return "none"
    return ", ".join(f"`{key}` = `{value}`" for key, value in sorted(record.settings.items()))


def show_text(record: MemberRecord) -> str:
    """What the bot keeps about the member in this server, in plain words."""
    finished = len(record.tasks) - record.unfinished
    lines = [
        "**What I keep about you on this server**",
        f"• **{plural(len(record.tasks), 'job')}** ({finished} finished, {record.unfinished} still running). "
        "For each: the prompt and options you gave, when, how it ended, how many images it made, "
        "what it cost, and the ids of the messages that show it.",
        f"• **Spend in the ledger:** {format_money(record.settled)} settled, {format_money(record.held)} held "
        "for running jobs. These amounts stay if you delete your data: the server's accounting needs them.",
        f"• **Your settings here:** {_settings(record)}.",
    ]
    prompts = record.prompts
    if prompts:
        lines.append(f"**Your prompts** (the newest {min(NEWEST, len(prompts))} of {len(prompts)}; all in the file):")
        for task in prompts[:NEWEST]:
            links = result_links(task)
            where = f" · [result]({links[0]})" if links else (" · sent by DM" if task.hidden else "")
            lines.append(f'- "{excerpt(task.prompt, PROMPT_CHARS)}" · {when(task.created_at)}{where}')
    else:
        lines.append("No prompts of yours are stored here.")
    lines.append("`/mydata delete` erases your prompts, result links and settings here.")
    return "\n".join(lines)


def prompts_file(record: MemberRecord) -> str:
    """Every stored job, one a line: when, how it ended, images, cost, prompt, options, result links."""
    lines = ["Your jobs on this server, newest first: when | status | images | cost | prompt | details"]
    for task in reversed(record.tasks):
        details = []
        if task.negative_prompt:
            details.append(f"negative: {task.negative_prompt}")
        if task.reference_urls:
            details.append("references: " + " ".join(task.reference_urls))
        details += result_links(task)
        cost = "" if task.cost is None else format_money(task.cost)
        prompt = " ".join(task.prompt.split())
        lines.append(
            f"{task.created_at.isoformat(timespec='seconds')} | {task.status.value} | {len(task.output_urls)} | "
            f"{cost} | {prompt} | {' '.join(details)}"
        )
    return "\n".join(lines) + "\n"


def confirm_text(record: MemberRecord, whose: str) -> str:
    """The question before erasing (``whose``: "your", "<@123>'s")."""
    lines = [
        f"⚠️ This deletes {whose} prompts, negative prompts, reference links and result links from "
        f"{plural(record.erasable, 'finished job')} on this server, and {plural(len(record.settings), 'setting')}. "
        "It cannot be undone.",
        "The amounts in the ledger stay (what each job cost, and when), so the server's accounting still adds up.",
    ]
    if record.unfinished:
        lines.append(f"{plural(record.unfinished, 'job')} still running will be left alone.")
    return "\n".join(lines)
