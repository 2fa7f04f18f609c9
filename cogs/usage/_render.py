"""Embeds of the /usage reports: overview, members by spend, a member's tasks, EggAPI beside the ledger.

In the server's language (``t``): moderators read these together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import discord

from bot.i18n import Text, Texts
from bot.ledger import Adjustment, AdjustmentKind, MemberSpend
from bot.money import format_money
from bot.reports import Agreement, GuildReport, MemberReport, Reconciliation, TaskLine, Totals, Window, adjusted
from cogs._shared.text import excerpt, when
from cogs.usage._names import MemberNames

COLOUR = discord.Colour.gold()
TOP_ON_OVERVIEW = 5
MEMBERS_PER_PAGE = 10
TASKS_PER_PAGE = 8
EXCERPT = 80
FIELD_MAX = 1024  # Discord's limit on an embed field's value


def range_label(t: Texts, window: Window) -> str:
    """``This month``: the report's range, by name."""
    return t(f"usage.ranges.{window.key}")


def local_date(t: Texts, day: date) -> str:
    """``01 Mar 2025``, with the month named in the reader's language."""
    return t("usage.date", day=f"{day:%d}", month=t(f"usage.months.{day.month}"), year=day.year)


def range_text(t: Texts, window: Window) -> str:
    """``This month: <start> to <end> (Europe/Paris)`` or ``All time``."""
    if window.start is None or window.end is None:
        return t("usage.range_all", label=range_label(t, window))
    return t(
        "usage.range",
        label=range_label(t, window),
        start=when(window.start),
        end=when(window.end),
        timezone=window.timezone,
    )


def spend_text(t: Texts, totals: Totals) -> str:
    """Settled, held and total money of a set of tasks."""
    return t(
        "usage.spend",
        settled=format_money(totals.settled),
        reserved=format_money(totals.reserved),
        total=format_money(totals.total),
    )


def work_text(t: Texts, totals: Totals) -> str:
    """Images and task outcomes."""
    counts = totals.counts
    parts = [
        t("usage.work.images", count=totals.images),
        t("usage.work.completed", count=counts.completed),
        t("usage.work.failed", count=counts.failed),
    ]
    if counts.in_progress:
        parts.append(t("usage.work.in_progress", count=counts.in_progress))
    if counts.cancelled:
        parts.append(t("usage.work.cancelled", count=counts.cancelled))
    return " · ".join(parts)


def member_line(t: Texts, rank: int, spend: MemberSpend, names: MemberNames) -> str:
    """``3. name: $0.0300 (3 tasks, $0.0100 held)``."""
    held = Text("usage.member_held", amount=format_money(spend.reserved)) if spend.reserved else ""
    return t(
        "usage.member_line",
        rank=rank,
        name=names.embed(spend.member_id),
        amount=format_money(spend.settled + spend.reserved),
        count=spend.tasks,
        held=held,
    )


def budget_text(t: Texts, report: GuildReport) -> str:
    """The server cap and what is left of it this quota period."""
    budget = report.budget
    per = Text(f"usage.per.{budget.period}")
    lines = [t("usage.budget.member_limit", limit=format_money(budget.member_limit), per=per)]
    if budget.cap is None:
        lines.append(t("usage.budget.no_cap", spent=format_money(budget.spent)))
    else:
        left = format_money(budget.available if budget.available is not None else budget.cap - budget.spent)
        lines.append(
            t("usage.budget.cap", cap=format_money(budget.cap), per=per, spent=format_money(budget.spent), left=left)
        )
    lines.append(t("usage.budget.resets", when=when(budget.resets_at, "R")))
    if budget.paused:
        lines.append(t("usage.budget.paused"))
    return "\n".join(lines)


def eggapi_text(t: Texts, recon: Reconciliation | None, note: str | None) -> str:
    """EggAPI's own totals beside the ledger's all-time total, and why they may differ."""
    if recon is None:
        return note or t("usage.eggapi.unavailable")
    rows = [
        t(
            "usage.eggapi.row",
            model=row.model or "?",
            units=f"{row.total_units.normalize():f}",
            cost=format_money(row.total_cost),
            count=row.request_count,
        )
        for row in recon.rows[:10]
    ] or [t("usage.eggapi.no_usage")]
    lines = [
        t("usage.eggapi.intro"),
        *rows,
        t(
            "usage.eggapi.total",
            eggapi=format_money(recon.eggapi_cost),
            settled=format_money(recon.ledger_settled),
            held=format_money(recon.ledger_reserved),
        ),
    ]
    gap = format_money(abs(recon.difference))
    if recon.agreement is Agreement.MATCH:
        lines.append(t("usage.eggapi.match"))
    elif recon.agreement is Agreement.EGGAPI_HIGHER:
        lines.append(t("usage.eggapi.higher", gap=gap))
    else:
        lines.append(t("usage.eggapi.lower", gap=gap))
    if recon.ledger_held_tasks:
        lines.append(t("usage.eggapi.held", count=recon.ledger_held_tasks, amount=format_money(recon.ledger_reserved)))
    text = "\n".join(lines)
    return text if len(text) <= 1024 else text[:1023] + "…"


def adjustments_text(t: Texts, adjustments: Sequence[Adjustment], names: MemberNames, *, each: bool) -> str:
    """Moderators' top-ups and resets: the sums, and (``each``) one line per adjustment, newest first."""
    topup, forgiven = adjusted(adjustments, AdjustmentKind.TOPUP), adjusted(adjustments, AdjustmentKind.RESET)
    lines = [t("usage.adjustments.sums", topups=format_money(topup), forgiven=format_money(forgiven))]
    if each:
        for a in adjustments[:5]:
            what = t("usage.adjustments.topup" if a.kind is AdjustmentKind.TOPUP else "usage.adjustments.forgiven")
            lines.append(
                t(
                    "usage.adjustments.line",
                    when=when(a.created_at),
                    what=what,
                    amount=format_money(a.amount),
                    moderator=names.embed(a.moderator_id),
                )
            )
        if len(adjustments) > 5:
            lines.append(t("usage.adjustments.more", count=len(adjustments) - 5))
    else:
        lines[0] += " · " + t("usage.adjustments.count", count=len(adjustments))
    return "\n".join(lines)[:FIELD_MAX]


def _page(title: str, description: str) -> discord.Embed:
    return discord.Embed(title=title, description=description, colour=COLOUR)


def _member_pages(t: Texts, title: str, members: Sequence[MemberSpend], names: MemberNames) -> list[discord.Embed]:
    pages = []
    for first in range(0, len(members), MEMBERS_PER_PAGE):
        chunk = members[first : first + MEMBERS_PER_PAGE]
        lines = [member_line(t, first + i + 1, spend, names) for i, spend in enumerate(chunk)]
        pages.append(_page(title, "\n".join(lines)))
    return pages


def guild_pages(
    t: Texts, report: GuildReport, names: MemberNames, server: str, recon: Reconciliation | None, note: str | None
) -> list[discord.Embed]:
    """The server report: an overview page, then every member by spend when there are many."""
    overview = _page(t("usage.title", server=server), range_text(t, report.window))
    overview.add_field(name=t("usage.fields.spend"), value=spend_text(t, report.totals), inline=False)
    overview.add_field(name=t("usage.fields.work"), value=work_text(t, report.totals), inline=False)
    top = [member_line(t, i + 1, s, names) for i, s in enumerate(report.members[:TOP_ON_OVERVIEW])]
    more = len(report.members) - TOP_ON_OVERVIEW
    if more > 0:
        top.append(t("usage.more_members", count=more))
    overview.add_field(name=t("usage.fields.top"), value="\n".join(top) or t("usage.nobody_spent"), inline=False)
    if report.adjustments:
        value = adjustments_text(t, report.adjustments, names, each=False)
        overview.add_field(name=t("usage.fields.adjustments"), value=value, inline=False)
    overview.add_field(name=t("usage.fields.budget"), value=budget_text(t, report), inline=False)
    overview.add_field(name=t("usage.fields.eggapi"), value=eggapi_text(t, recon, note), inline=False)
    pages = [overview]
    if len(report.members) > TOP_ON_OVERVIEW:
        title = t("usage.members_title", label=range_label(t, report.window))
        pages += _member_pages(t, title, report.members, names)
    return _numbered(t, pages)


def task_line(t: Texts, task: TaskLine) -> str:
    """One task: time, number, images, cost, status and a prompt excerpt."""
    images = t("usage.task_images", made=task.images, count=task.requested)
    ledger = Text("usage.ledger_state", state=Text(f"usage.hold.{task.hold_state.value}")) if task.hold_state else ""
    return t(
        "usage.task_line",
        when=when(task.created_at),
        id=task.task_id,
        images=images,
        cost=format_money(task.cost),
        ledger=ledger,
        status=Text(f"job.status.{task.status.value}"),
        prompt=excerpt(task.prompt, EXCERPT) or t("usage.empty_prompt"),
    )


def _limit_value(t: Texts, report: MemberReport) -> str:
    balance = report.balance
    if balance.limit is None:
        limit = t("usage.limit.exempt")
    else:
        limit = t("usage.limit.per", amount=format_money(balance.limit), per=Text(f"usage.per.{balance.period}"))
    if balance.topup:
        limit += t("usage.limit.topup", amount=format_money(balance.topup))
    return t(
        "usage.limit.value",
        limit=limit,
        settled=format_money(balance.settled),
        forgiven=Text("usage.limit.forgiven", amount=format_money(balance.forgiven)) if balance.forgiven else "",
        held=format_money(balance.reserved),
        left="" if balance.available is None else Text("usage.limit.left", amount=format_money(balance.available)),
        when=when(balance.resets_at, "R"),
        paused=Text("usage.limit.paused") if balance.paused else "",
    )


def member_pages(t: Texts, report: MemberReport, names: MemberNames) -> list[discord.Embed]:
    """A member's report: spend, balance and holds first, then their newest tasks, the rest a few per page."""
    who = names.embed(report.member_id)
    head = _page(t("usage.member_title"), f"{who}\n{range_text(t, report.window)}")
    head.add_field(name=t("usage.fields.spend"), value=spend_text(t, report.totals), inline=False)
    head.add_field(name=t("usage.fields.work"), value=work_text(t, report.totals), inline=False)
    head.add_field(name=t("usage.fields.limit"), value=_limit_value(t, report), inline=False)
    held = sum((task.cost for task in report.holds), Decimal(0))
    hold_lines = [
        t(
            "usage.hold_line",
            id=h.task_id,
            cost=format_money(h.cost),
            status=Text(f"job.status.{h.status.value}"),
            when=when(h.created_at, "R"),
        )
        for h in report.holds[:5]
    ]
    if len(report.holds) > 5:
        hold_lines.append(t("usage.and_more", count=len(report.holds) - 5))
    head.add_field(
        name=t("usage.fields.holds", count=len(report.holds), amount=format_money(held)),
        value="\n".join(hold_lines) or t("usage.no_holds"),
        inline=False,
    )
    if report.adjustments:
        value = adjustments_text(t, report.adjustments, names, each=True)
        head.add_field(name=t("usage.fields.adjustments"), value=value, inline=False)
    pages = [head]
    tasks = report.tasks
    if not tasks:
        head.add_field(name=t("usage.fields.tasks"), value=t("usage.no_tasks"), inline=False)
    for start in range(0, len(tasks), TASKS_PER_PAGE):
        lines = [task_line(t, task) for task in tasks[start : start + TASKS_PER_PAGE]]
        if start == 0:  # below the totals: a moderator reads the figures first, then the detail
            for number, value in enumerate(_field_chunks(lines)):
                name = t("usage.fields.recent" if number == 0 else "usage.fields.recent_more")
                head.add_field(name=name, value=value, inline=False)
        else:
            title = t("usage.tasks_title", label=range_label(t, report.window))
            pages.append(_page(title, f"{who}\n\n" + "\n".join(lines)))
    return _numbered(t, pages)


def _field_chunks(lines: Sequence[str]) -> list[str]:
    """``lines`` joined into as few field values as Discord's 1024 characters a field allow."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= FIELD_MAX:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line[:FIELD_MAX])
    return chunks


def _numbered(t: Texts, pages: list[discord.Embed]) -> list[discord.Embed]:
    for number, page in enumerate(pages, 1):
        page.set_footer(text=t("usage.footer", number=number, total=len(pages)))
    return pages
