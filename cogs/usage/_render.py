"""Embeds of the /usage reports: overview, members by spend, a member's tasks, EggAPI beside the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import discord

from bot.ledger import Adjustment, AdjustmentKind, MemberSpend
from bot.money import format_money
from bot.reports import Agreement, GuildReport, MemberReport, Reconciliation, TaskLine, Totals, Window, adjusted
from cogs._shared.text import excerpt, plural, when, word
from cogs.usage._names import MemberNames

COLOUR = discord.Colour.gold()
TOP_ON_OVERVIEW = 5
MEMBERS_PER_PAGE = 10
TASKS_PER_PAGE = 8
EXCERPT = 80
FIELD_MAX = 1024  # Discord's limit on an embed field's value
_PER = {"day": "per day", "week": "per week", "month": "per month"}
_STATUS = {"active": "held", "settled": "settled", "released": "released"}


def range_text(window: Window) -> str:
    """``This month: <start> to <end> (Europe/Paris)`` or ``All time``."""
    if window.start is None or window.end is None:
        return f"**{window.label}** (every task the bot recorded in this server)"
    return f"**{window.label}**: {when(window.start)} to {when(window.end)} (periods in {window.timezone})"


def spend_text(totals: Totals) -> str:
    """Settled, held and total money of a set of tasks."""
    return (
        f"Settled **{format_money(totals.settled)}** · reserved **{format_money(totals.reserved)}** "
        f"(running or unconfirmed) · total **{format_money(totals.total)}**"
    )


def work_text(totals: Totals) -> str:
    """Images and task outcomes."""
    counts = totals.counts
    parts = [
        f"**{totals.images}** {word(totals.images, 'image')} produced",
        f"**{counts.completed}** {word(counts.completed, 'task')} completed",
        f"**{counts.failed}** failed",
    ]
    if counts.in_progress:
        parts.append(f"**{counts.in_progress}** in progress")
    if counts.cancelled:
        parts.append(f"**{counts.cancelled}** cancelled")
    return " · ".join(parts)


def member_line(rank: int, spend: MemberSpend, names: MemberNames) -> str:
    """``3. name: $0.0300 (3 tasks, $0.0100 held)``."""
    held = f", {format_money(spend.reserved)} held" if spend.reserved else ""
    tasks = plural(spend.tasks, "task")
    return f"{rank}. {names.embed(spend.member_id)}: **{format_money(spend.settled + spend.reserved)}** ({tasks}{held})"


def budget_text(report: GuildReport) -> str:
    """The server cap and what is left of it this quota period."""
    budget = report.budget
    per = f"per {budget.period}"
    lines = [f"Member limit {format_money(budget.member_limit)} {per} (by default)"]
    if budget.cap is None:
        lines.append(f"No server cap · spent {format_money(budget.spent)} this period")
    else:
        left = format_money(budget.available if budget.available is not None else budget.cap - budget.spent)
        lines.append(
            f"Server cap **{format_money(budget.cap)}** {per} · spent {format_money(budget.spent)} · **{left}** left"
        )
    lines.append(f"Period resets {when(budget.resets_at, 'R')}")
    if budget.paused:
        lines.append("⏸️ Image generation is **paused** on this server.")
    return "\n".join(lines)


def eggapi_text(recon: Reconciliation | None, note: str | None) -> str:
    """EggAPI's own totals beside the ledger's all-time total, and why they may differ."""
    if recon is None:
        return note or "EggAPI's figures are not available right now."
    rows = [
        f"`{row.model or '?'}`: {row.total_units.normalize():f} units · {format_money(row.total_cost)} · "
        f"{row.request_count} requests"
        for row in recon.rows[:10]
    ] or ["No usage reported yet."]
    lines = [
        "Account-wide totals reported by EggAPI (their time window is not documented):",
        *rows,
        f"EggAPI total **{format_money(recon.eggapi_cost)}** · this server's ledger, all time: "
        f"settled **{format_money(recon.ledger_settled)}**, held {format_money(recon.ledger_reserved)}",
    ]
    gap = format_money(abs(recon.difference))
    if recon.agreement is Agreement.MATCH:
        lines.append("✅ They agree.")
    elif recon.agreement is Agreement.EGGAPI_HIGHER:
        lines.append(
            f"EggAPI counts **{gap}** more: the same API key also pays for other servers using this bot "
            "and any other apps using the key, work from before this bot's ledger, and tasks EggAPI "
            "finished that the bot has not settled yet."
        )
    else:
        lines.append(
            f"The ledger counts **{gap}** more than EggAPI reports: EggAPI's totals may cover a shorter "
            "window or lag behind the newest tasks."
        )
    if recon.ledger_held_tasks:
        lines.append(
            f"{recon.ledger_held_tasks} task(s) holding {format_money(recon.ledger_reserved)} are not "
            "settled yet; they count on both sides once they finish."
        )
    text = "\n".join(lines)
    return text if len(text) <= 1024 else text[:1023] + "…"


def adjustments_text(adjustments: Sequence[Adjustment], names: MemberNames, *, each: bool) -> str:
    """Moderators' top-ups and resets: the sums, and (``each``) one line per adjustment, newest first."""
    topup, forgiven = adjusted(adjustments, AdjustmentKind.TOPUP), adjusted(adjustments, AdjustmentKind.RESET)
    lines = [
        f"Top-ups **{format_money(topup)}** · forgiven **{format_money(forgiven)}** "
        "(forgiven spend was still charged: it stays in the spend above)"
    ]
    if each:
        for a in adjustments[:5]:
            what = "top-up" if a.kind is AdjustmentKind.TOPUP else "forgiven"
            lines.append(f"{when(a.created_at)} · {what} {format_money(a.amount)} by {names.embed(a.moderator_id)}")
        if len(adjustments) > 5:
            lines.append(f"…and {len(adjustments) - 5} more (in the CSV)")
    else:
        lines[0] += f" · {plural(len(adjustments), 'adjustment')}"
    return "\n".join(lines)[:FIELD_MAX]


def _page(title: str, description: str) -> discord.Embed:
    return discord.Embed(title=title, description=description, colour=COLOUR)


def _member_pages(title: str, members: Sequence[MemberSpend], names: MemberNames) -> list[discord.Embed]:
    pages = []
    for first in range(0, len(members), MEMBERS_PER_PAGE):
        chunk = members[first : first + MEMBERS_PER_PAGE]
        lines = [member_line(first + i + 1, spend, names) for i, spend in enumerate(chunk)]
        pages.append(_page(title, "\n".join(lines)))
    return pages


def guild_pages(
    report: GuildReport, names: MemberNames, server: str, recon: Reconciliation | None, note: str | None
) -> list[discord.Embed]:
    """The server report: an overview page, then every member by spend when there are many."""
    overview = _page(f"Usage of {server}", range_text(report.window))
    overview.add_field(name="Spend", value=spend_text(report.totals), inline=False)
    overview.add_field(name="Work", value=work_text(report.totals), inline=False)
    top = [member_line(i + 1, s, names) for i, s in enumerate(report.members[:TOP_ON_OVERVIEW])]
    more = len(report.members) - TOP_ON_OVERVIEW
    if more > 0:
        top.append(f"…and {more} more on the next pages")
    overview.add_field(name="Top members by spend", value="\n".join(top) or "Nobody spent anything.", inline=False)
    if report.adjustments:
        value = adjustments_text(report.adjustments, names, each=False)
        overview.add_field(name="Moderator adjustments", value=value, inline=False)
    overview.add_field(name="Server budget (current quota period)", value=budget_text(report), inline=False)
    overview.add_field(name="EggAPI's own figures", value=eggapi_text(recon, note), inline=False)
    pages = [overview]
    if len(report.members) > TOP_ON_OVERVIEW:
        pages += _member_pages(f"Members by spend: {report.window.label}", report.members, names)
    return _numbered(pages)


def task_line(task: TaskLine) -> str:
    """One task: time, number, images, cost, status and a prompt excerpt."""
    images = f"{task.images}/{task.requested} {word(task.requested, 'image')}"
    ledger = f" ({_STATUS[task.hold_state.value]})" if task.hold_state is not None else ""
    return (
        f"{when(task.created_at)} · job #{task.task_id} · {images} · {format_money(task.cost)}{ledger} · "
        f"{task.status.value}\n> {excerpt(task.prompt, EXCERPT) or '(empty)'}"
    )


def member_pages(report: MemberReport, names: MemberNames) -> list[discord.Embed]:
    """A member's report: spend, balance and holds first, then their newest tasks, the rest a few per page."""
    who = names.embed(report.member_id)
    balance = report.balance
    head = _page("Member usage", f"{who}\n{range_text(report.window)}")
    head.add_field(name="Spend", value=spend_text(report.totals), inline=False)
    head.add_field(name="Work", value=work_text(report.totals), inline=False)
    limit = "exempt (no limit)" if balance.limit is None else f"{format_money(balance.limit)} per {balance.period}"
    if balance.topup:
        limit += f" + top-up {format_money(balance.topup)}"
    left = "" if balance.available is None else f" · **{format_money(balance.available)}** left"
    forgiven = f" (forgiven {format_money(balance.forgiven)})" if balance.forgiven else ""
    head.add_field(
        name="Limit (current quota period)",
        value=(
            f"{limit} · settled {format_money(balance.settled)}{forgiven} · held {format_money(balance.reserved)}"
            f"{left}\n"
            f"Resets {when(balance.resets_at, 'R')}" + (" · ⏸️ paused" if balance.paused else "")
        ),
        inline=False,
    )
    held = sum((task.cost for task in report.holds), Decimal(0))
    hold_lines = [
        f"job #{t.task_id} · {format_money(t.cost)} · {t.status.value} · {when(t.created_at, 'R')}"
        for t in report.holds[:5]
    ]
    if len(report.holds) > 5:
        hold_lines.append(f"…and {len(report.holds) - 5} more")
    head.add_field(
        name=f"Open holds: {len(report.holds)} ({format_money(held)})",
        value="\n".join(hold_lines) or "None: nothing of theirs is waiting on EggAPI.",
        inline=False,
    )
    if report.adjustments:
        value = adjustments_text(report.adjustments, names, each=True)
        head.add_field(name="Moderator adjustments", value=value, inline=False)
    pages = [head]
    tasks = report.tasks
    if not tasks:
        head.add_field(name="Tasks", value="No tasks in this range.", inline=False)
    for start in range(0, len(tasks), TASKS_PER_PAGE):
        lines = [task_line(t) for t in tasks[start : start + TASKS_PER_PAGE]]
        if start == 0:  # below the totals: a moderator reads the figures first, then the detail
            for number, value in enumerate(_field_chunks(lines)):
                name = "Recent tasks (newest first)" if number == 0 else "Recent tasks, continued"
                head.add_field(name=name, value=value, inline=False)
        else:
            pages.append(_page(f"Tasks of one member: {report.window.label}", f"{who}\n\n" + "\n".join(lines)))
    return _numbered(pages)


def _field_chunks(lines: Sequence[str]) -> list[str]:
    """``lines`` joined into as few field values as Discord's 1024 characters a field allow."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= FIELD_MAX:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line[:FIELD_MAX])
    return chunks


def _numbered(pages: list[discord.Embed]) -> list[discord.Embed]:
    for number, page in enumerate(pages, 1):
        page.set_footer(text=f"Page {number}/{len(pages)} · figures from the bot's ledger unless marked EggAPI")
    return pages
