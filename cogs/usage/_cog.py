"""The /usage command: a moderator's report of the server's spend, from the ledger and EggAPI."""

from __future__ import annotations

import asyncio
import functools
import io
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.checks import moderators_only, role_ids
from bot.app.locales import for_server
from bot.eggapi import EggAPIError
from bot.i18n import Texts
from bot.ledger import Adjustment
from bot.reports import RANGE_KEYS, RANGE_LABELS, DaySpend, Reconciliation, TaskLine, Window
from cogs.usage._chart import chart_data, render_png, top_members
from cogs.usage._csv import tasks_csv
from cogs.usage._names import MemberNames
from cogs.usage._render import guild_pages, local_date, member_pages, range_label
from cogs.usage._views import ReportView

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

EGGAPI_TIMEOUT = 20.0  # seconds for the usage summary, retries included; the report is deferred meanwhile
NO_MENTIONS = discord.AllowedMentions.none()
# Named for the translator (bot.app.translator): choices carry no trace of their option.
PERIOD_CHOICES = [
    app_commands.Choice(
        name=app_commands.locale_str(RANGE_LABELS[key], key=f"commands.usage.options.period.choices.{key}"), value=key
    )
    for key in RANGE_KEYS
]


class UsageCog(commands.Cog):
    """Usage reports for moderators, in the server's language."""

    def __init__(self, bot: EggBot) -> None:
        self.bot = bot
        self.reports = bot.reports

    @app_commands.command(name="usage")
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.check(moderators_only)
    @app_commands.describe(
        period="Which period to report on (default: the server's quota period)",
        member="Report on one member: spend, holds, limit and recent tasks",
        export="Also attach the tasks as CSV and a chart of spend per day",
    )
    @app_commands.choices(period=PERIOD_CHOICES)
    async def usage(
        self,
        interaction: discord.Interaction,
        period: app_commands.Choice[str] | None = None,
        member: discord.User | None = None,
        export: bool = False,
    ) -> None:
        """Where this server's image budget goes: spend, top members, tasks, EggAPI's figures."""
        guild_id = interaction.guild_id
        assert guild_id is not None  # moderators_only checked it
        key = period.value if period is not None else "current"
        await interaction.response.defer(ephemeral=True, thinking=True)
        t = for_server(interaction)
        known = {interaction.user.id: interaction.user.display_name}
        if member is not None:
            known[member.id] = member.display_name
        names = MemberNames(interaction.guild, known)
        guild_name = interaction.guild.name if interaction.guild else t("usage.this_server")
        if member is None:
            report = await self.reports.guild_report(guild_id, key)
            recon, note = await self._eggapi_figures(t, guild_id)
            pages = guild_pages(t, report, names, discord.utils.escape_markdown(guild_name), recon, note)
            window, tasks, days, adjustments = report.window, report.tasks, report.days, report.adjustments
            title, stem = t("usage.export.server_title", server=guild_name), "server"
        else:
            mine = await self.reports.member_report(guild_id, member.id, role_ids(member), key)
            pages = member_pages(t, mine, names)
            window, tasks, days, adjustments = mine.window, mine.tasks, mine.days, mine.adjustments
            title, stem = t("usage.export.member_title", member=names.plain(member.id)), f"member-{member.id}"
        exporter = functools.partial(
            self._send_export,
            t=t,
            tasks=tasks,
            days=days,
            adjustments=adjustments,
            names=names,
            title=f"{title}: {range_label(t, window)}",
            subtitle=_range_subtitle(t, window),
            filename=f"usage-{stem}-{key}-{datetime.now(UTC):%Y%m%d}",
        )
        view = ReportView(t, interaction.user.id, pages, exporter)
        view.origin = interaction
        await interaction.followup.send(
            embed=pages[0], view=view, ephemeral=True, allowed_mentions=NO_MENTIONS, wait=True
        )
        if export:
            await exporter(interaction)

    async def _eggapi_figures(self, t: Texts, guild_id: int) -> tuple[Reconciliation | None, str | None]:
        """EggAPI's usage summary beside the ledger, or a note saying why it is missing."""
        try:
            rows = await asyncio.wait_for(self.bot.eggapi.usage_summary(), EGGAPI_TIMEOUT)
        except EggAPIError as exc:
            log.warning("/usage: EggAPI usage summary failed: HTTP %s %s", exc.status, exc.code)
            return None, t("usage.eggapi.unreachable")
        except TimeoutError:
            log.warning("/usage: EggAPI usage summary timed out after %ss", EGGAPI_TIMEOUT)
            return None, t("usage.eggapi.timeout")
        return await self.reports.reconcile(guild_id, rows), None

    async def _send_export(
        self,
        interaction: discord.Interaction,
        *,
        t: Texts,
        tasks: Sequence[TaskLine],
        days: Sequence[DaySpend],
        adjustments: Sequence[Adjustment],
        names: MemberNames,
        title: str,
        subtitle: str,
        filename: str,
    ) -> None:
        """Attach the tasks as CSV and the spend chart as PNG, visible to the caller only."""
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=True, thinking=True)
        adjusted = [id_ for a in adjustments for id_ in (a.member_id, a.moderator_id)]
        await names.look_up(
            dict.fromkeys([*_named_first(tasks, days), *adjusted])
        )  # acknowledged above: the look-ups may take a moment
        table = tasks_csv(tasks, names.plain, adjustments)
        chart = await asyncio.to_thread(render_png, chart_data(t, days, names.plain, title, subtitle))
        files = [discord.File(_buffer(chart), filename=f"{filename}.png", description=t("usage.export.chart"))]
        note = t("usage.export.note", count=len(tasks))
        if len(table) <= interaction.filesize_limit:
            files.insert(0, discord.File(_buffer(table), filename=f"{filename}.csv", description=t("usage.export.csv")))
        else:
            note = t("usage.export.too_large", count=len(tasks))
        await interaction.followup.send(note, files=files, ephemeral=True, allowed_mentions=NO_MENTIONS)


def _named_first(tasks: Sequence[TaskLine], days: Sequence[DaySpend]) -> list[int]:
    """Who to name, most visible first: the chart's legend, then the CSV's members by spend and task count."""
    spent: dict[int, tuple[Decimal, int]] = {}
    for task in tasks:
        cost, count = spent.get(task.member_id, (Decimal(0), 0))
        spent[task.member_id] = (cost + task.cost, count + 1)
    rest = sorted(spent, key=lambda m: (-spent[m][0], -spent[m][1], m))
    return [*top_members(days), *rest]


def _range_subtitle(t: Texts, window: Window) -> str:
    """``01 Mar 2025 to 31 Mar 2025 · days in Europe/Paris``, or ``Since the first recorded task · days in UTC``."""
    if window.start is None or window.end is None:
        return t("usage.export.since_first", timezone=window.timezone)
    first, last = window.local_date(window.start), window.local_date(window.end - timedelta(microseconds=1))
    return t("usage.export.between", first=local_date(t, first), last=local_date(t, last), timezone=window.timezone)


def _buffer(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
