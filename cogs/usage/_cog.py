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
from bot.eggapi import EggAPIError
from bot.ledger import Adjustment
from bot.reports import RANGE_KEYS, RANGE_LABELS, DaySpend, Reconciliation, TaskLine, Window
from cogs._shared.text import plural
from cogs.usage._chart import chart_data, render_png, top_members
from cogs.usage._csv import tasks_csv
from cogs.usage._names import MemberNames
from cogs.usage._render import guild_pages, member_pages
from cogs.usage._views import ReportView

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

EGGAPI_TIMEOUT = 20.0  # seconds for the usage summary, retries included; the report is deferred meanwhile
NO_MENTIONS = discord.AllowedMentions.none()
PERIOD_CHOICES = [app_commands.Choice(name=RANGE_LABELS[key], value=key) for key in RANGE_KEYS]


class UsageCog(commands.Cog):
    """Usage reports for moderators."""

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
        known = {interaction.user.id: interaction.user.display_name}
        if member is not None:
            known[member.id] = member.display_name
        names = MemberNames(interaction.guild, known)
        server = discord.utils.escape_markdown(interaction.guild.name) if interaction.guild else "this server"
        if member is None:
            report = await self.reports.guild_report(guild_id, key)
            recon, note = await self._eggapi_figures(guild_id)
            pages = guild_pages(report, names, server, recon, note)
            window, tasks, days, adjustments = report.window, report.tasks, report.days, report.adjustments
            title, stem = f"Spend in {interaction.guild.name if interaction.guild else 'this server'}", "server"
        else:
            mine = await self.reports.member_report(guild_id, member.id, role_ids(member), key)
            pages = member_pages(mine, names)
            window, tasks, days, adjustments = mine.window, mine.tasks, mine.days, mine.adjustments
            title, stem = f"Spend of {names.plain(member.id)}", f"member-{member.id}"
        exporter = functools.partial(
            self._send_export,
            tasks=tasks,
            days=days,
            adjustments=adjustments,
            names=names,
            title=f"{title}: {window.label}",
            subtitle=_range_subtitle(window),
            filename=f"usage-{stem}-{key}-{datetime.now(UTC):%Y%m%d}",
        )
        view = ReportView(interaction.user.id, pages, exporter)
        view.origin = interaction
        await interaction.followup.send(
            embed=pages[0], view=view, ephemeral=True, allowed_mentions=NO_MENTIONS, wait=True
        )
        if export:
            await exporter(interaction)

    async def _eggapi_figures(self, guild_id: int) -> tuple[Reconciliation | None, str | None]:
        """EggAPI's usage summary beside the ledger, or a note saying why it is missing."""
        try:
            rows = await asyncio.wait_for(self.bot.eggapi.usage_summary(), EGGAPI_TIMEOUT)
        except EggAPIError as exc:
            log.warning("/usage: EggAPI usage summary failed: HTTP %s %s", exc.status, exc.code)
            return None, (
                "⚠️ Couldn't reach EggAPI for its own totals. The ledger figures above are complete; "
                "run /usage again later to compare."
            )
        except TimeoutError:
            log.warning("/usage: EggAPI usage summary timed out after %ss", EGGAPI_TIMEOUT)
            return None, (
                "⚠️ EggAPI did not answer in time with its own totals. The ledger figures above are "
                "complete; run /usage again later to compare."
            )
        return await self.reports.reconcile(guild_id, rows), None

    async def _send_export(
        self,
        interaction: discord.Interaction,
        *,
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
        chart = await asyncio.to_thread(render_png, chart_data(days, names.plain, title, subtitle))
        files = [discord.File(_buffer(chart), filename=f"{filename}.png", description="Spend per day")]
        note = f"{plural(len(tasks), 'task')}; costs are what the ledger counts (exact)."
        if len(table) <= interaction.filesize_limit:
            files.insert(0, discord.File(_buffer(table), filename=f"{filename}.csv", description="Tasks"))
        else:
            note = (
                f"The CSV of {len(tasks)} tasks is larger than this server's upload limit; "
                "choose a shorter period to export it."
            )
        await interaction.followup.send(note, files=files, ephemeral=True, allowed_mentions=NO_MENTIONS)


def _named_first(tasks: Sequence[TaskLine], days: Sequence[DaySpend]) -> list[int]:
    """Who to name, most visible first: the chart's legend, then the CSV's members by spend and task count."""
    spent: dict[int, tuple[Decimal, int]] = {}
    for task in tasks:
        cost, count = spent.get(task.member_id, (Decimal(0), 0))
        spent[task.member_id] = (cost + task.cost, count + 1)
    rest = sorted(spent, key=lambda m: (-spent[m][0], -spent[m][1], m))
    return [*top_members(days), *rest]


def _range_subtitle(window: Window) -> str:
    """``01 Mar 2025 to 31 Mar 2025 · days in Europe/Paris``, or ``All time · days in UTC``."""
    if window.start is None or window.end is None:
        return f"Since the first recorded task · days in {window.timezone}"
    last = window.local_date(window.end - timedelta(microseconds=1))
    return f"{window.local_date(window.start):%d %b %Y} to {last:%d %b %Y} · days in {window.timezone}"


def _buffer(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
