"""/balance for every member; /quota for moderators (Manage Server, checked again at run time)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.checks import moderators_only, role_ids
from bot.app.locales import for_member, for_server
from bot.errors import InvalidRequest
from bot.guilds import SHOW_COSTS
from bot.i18n import Text, Texts, texts
from bot.ledger import DM_GUILD, AdjustmentResult, Balance
from bot.members import images_left
from bot.money import format_money, parse_money
from bot.periods import Period
from cogs._shared.budget import budget_line
from cogs._shared.modlog import BEFORE, changed_lines, outage_note, record_change
from cogs.quota._render import adjustment_text, balance_text, policy_text

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

CLEAR_WORDS = ("none", "clear", "off", "default", "reset")
MAX_AMOUNT = Decimal("100000")


def parse_amount(raw: str) -> Decimal | None:
    """``$1.50`` → Decimal("1.50"); a clear word → None; anything else is refused with a clear message."""
    text = raw.strip().lower()
    if text in CLEAR_WORDS:
        return None
    try:
        amount = parse_money(text)
    except ValueError:
        raise InvalidRequest(key="errors.amount.not_amount", raw=raw) from None
    if amount < 0 or amount > MAX_AMOUNT:
        raise InvalidRequest(key="errors.amount.range", most=f"${MAX_AMOUNT:,}")
    if amount != amount.quantize(Decimal("0.0001")):
        raise InvalidRequest(key="errors.amount.decimals")
    return amount


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class QuotaGroup(app_commands.Group, name="quota", description="Spending limits for this server (moderators)"):
    """Moderator commands; every change is logged for the operator. Answers are in the server's language."""

    def __init__(self, bot: EggBot) -> None:
        super().__init__()
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Check Manage Server at run time too: server admins can override the default permission."""
        allowed = moderators_only(interaction)
        policy = await self.bot.ledger.policy(interaction.guild_id)
        interaction.extras[BEFORE] = policy_text(for_server(interaction), policy)  # for the mod-log
        return allowed

    async def _done(self, interaction: discord.Interaction, done: Text) -> None:
        log.info("guild %s: moderator %s: %s", interaction.guild_id, interaction.user.id, texts(None).render(done))
        t = for_server(interaction)
        policy = await self.bot.ledger.policy(interaction.guild_id)
        before, after = changed_lines(interaction.extras.get(BEFORE, ""), policy_text(t, policy), t("quota.none"))
        record_change(self.bot, interaction, t("quota.modlog.quota"), before, after)
        note = outage_note(self.bot, interaction)
        await interaction.response.send_message(f"{t.render(done)}\n\n{policy_text(t, policy)}{note}", ephemeral=True)

    @app_commands.command(name="show")
    async def show(self, interaction: discord.Interaction) -> None:
        """Show this server's quota settings."""
        policy = await self.bot.ledger.policy(interaction.guild_id)
        note = outage_note(self.bot, interaction)
        await interaction.response.send_message(policy_text(for_server(interaction), policy) + note, ephemeral=True)

    @app_commands.command(name="limit")
    @app_commands.describe(
        amount="Dollars each member may spend per period, or `default`",
        period="How often limits reset",
        timezone="IANA time zone the periods follow, e.g. Europe/Paris",
    )
    async def limit(
        self,
        interaction: discord.Interaction,
        amount: str,
        period: Period | None = None,
        timezone: str | None = None,
    ) -> None:
        """Set the default per-member limit, period and time zone."""
        value = parse_amount(amount)
        if value is None and period is None and timezone is None:
            await self.bot.ledger.reset_guild_defaults(interaction.guild_id)
            await self._done(interaction, Text("quota.done.reset_defaults"))
            return
        try:
            await self.bot.ledger.set_guild_defaults(
                interaction.guild_id, limit=value, period=period, timezone=timezone
            )
        except ValueError:
            raise InvalidRequest(key="errors.amount.timezone", timezone=timezone) from None
        await self._done(interaction, Text("quota.done.limit"))

    @app_commands.command(name="member")
    @app_commands.describe(member="Whose limit to set", amount="Dollars per period, or `none` to clear")
    async def member(self, interaction: discord.Interaction, member: discord.Member, amount: str) -> None:
        """Give one member their own limit (it wins over roles)."""
        value = parse_amount(amount)
        await self.bot.ledger.set_member_limit(interaction.guild_id or DM_GUILD, member.id, value)
        await self._done(interaction, _set("quota.done.member", value, member=member.mention))

    @app_commands.command(name="role")
    @app_commands.describe(role="Which role", amount="Dollars per period for its members, or `none` to clear")
    async def role(self, interaction: discord.Interaction, role: discord.Role, amount: str) -> None:
        """Set a limit for a role (a member's most generous role wins)."""
        value = parse_amount(amount)
        await self.bot.ledger.set_role_limit(interaction.guild_id or DM_GUILD, role.id, value)
        await self._done(interaction, _set("quota.done.role", value, role=role.mention))

    @app_commands.command(name="exempt")
    @app_commands.describe(role="Which role", exempt="Whether its members have no per-member limit")
    async def exempt(self, interaction: discord.Interaction, role: discord.Role, exempt: bool) -> None:
        """Exempt a role from per-member limits (the server cap still applies)."""
        await self.bot.ledger.set_role_exempt(interaction.guild_id or DM_GUILD, role.id, exempt)
        await self._done(interaction, Text(f"quota.done.{'exempted' if exempt else 'not_exempted'}", role=role.mention))

    @app_commands.command(name="cap")
    @app_commands.describe(amount="Dollars the whole server may spend per period, or `none`")
    async def cap(self, interaction: discord.Interaction, amount: str) -> None:
        """Cap the whole server's spending per period."""
        value = parse_amount(amount)
        await self.bot.ledger.set_server_cap(interaction.guild_id or DM_GUILD, value)
        await self._done(interaction, _set("quota.done.cap", value))

    @app_commands.command(name="pause")
    async def pause(self, interaction: discord.Interaction) -> None:
        """Stop all image generation on this server."""
        await self.bot.ledger.set_paused(interaction.guild_id or DM_GUILD, True)
        await self._done(interaction, Text("quota.done.paused"))

    @app_commands.command(name="resume")
    async def resume(self, interaction: discord.Interaction) -> None:
        """Let members generate images again."""
        await self.bot.ledger.set_paused(interaction.guild_id or DM_GUILD, False)
        await self._done(interaction, Text("quota.done.resumed"))

    # -- one-off adjustments and captions: results carry before/after values (for a mod-log) ------

    @app_commands.command(name="topup")
    @app_commands.describe(member="Whose budget to top up", amount="Dollars added for the current period only")
    async def topup(self, interaction: discord.Interaction, member: discord.Member, amount: str) -> None:
        """Give one member a one-off top-up for this period (their limit stays as it is)."""
        value = parse_amount(amount)
        if value is None or value <= 0:
            raise InvalidRequest(key="errors.amount.topup")
        result = await self.bot.ledger.top_up(
            interaction.guild_id, member.id, value, moderator_id=interaction.user.id, role_ids=role_ids(member)
        )
        log.info("guild %s: moderator %s topped up %s", interaction.guild_id, interaction.user.id, member.id)
        await self._adjusted(interaction, member, "quota.modlog.topup", result)

    @app_commands.command(name="reset")
    @app_commands.describe(member="Whose spend this period to forgive")
    async def reset(self, interaction: discord.Interaction, member: discord.Member) -> None:
        """Forgive one member's spend for this period, so it counts from zero again."""
        result = await self.bot.ledger.reset_spend(
            interaction.guild_id, member.id, moderator_id=interaction.user.id, role_ids=role_ids(member)
        )
        log.info("guild %s: moderator %s reset the spend of %s", interaction.guild_id, interaction.user.id, member.id)
        await self._adjusted(interaction, member, "quota.modlog.reset", result)

    async def _adjusted(
        self, interaction: discord.Interaction, member: discord.Member, what: str, result: AdjustmentResult
    ) -> None:
        """Answer a top-up or reset, with the member's remaining budget before and after in the mod-log."""
        t = for_server(interaction)
        before, after = (_remaining(t, result.before), _remaining(t, result.after))
        record_change(self.bot, interaction, t(what, member=member.mention), before, after)
        note = outage_note(self.bot, interaction)
        await interaction.response.send_message(adjustment_text(t, member.mention, result) + note, ephemeral=True)

    @app_commands.command(name="captions")
    @app_commands.describe(costs="Whether result posts show what each job cost")
    async def captions(self, interaction: discord.Interaction, costs: Literal["show", "hide"]) -> None:
        """Show or hide job costs in public result captions (members still see theirs in /balance)."""
        before = await self.bot.guild_settings.get(interaction.guild_id, SHOW_COSTS)
        after = costs == "show"
        await self.bot.guild_settings.set(interaction.guild_id, SHOW_COSTS, after)
        log.info("guild %s: moderator %s: costs in captions %s", interaction.guild_id, interaction.user.id, costs)
        t = for_server(interaction)
        words = {True: t("quota.captions.shown"), False: t("quota.captions.hidden")}
        record_change(self.bot, interaction, t("quota.modlog.captions"), words[before], words[after])
        unchanged = Text("quota.captions.unchanged") if before == after else ""
        done = t("quota.captions.show" if after else "quota.captions.hide", unchanged=unchanged)
        await interaction.response.send_message(done + outage_note(self.bot, interaction), ephemeral=True)


def _set(key: str, value: Decimal | None, **params: object) -> Text:
    """What setting an amount did: ``key`` with the amount, or ``key``'s ``_cleared`` text for none."""
    if value is None:
        return Text(f"{key}_cleared", **params)
    return Text(key, amount=format_money(value), **params)


def _remaining(t: Texts, balance: Balance) -> str:
    left = t("quota.unlimited") if balance.available is None else format_money(balance.available)
    return t("quota.modlog.remaining", amount=left)


class QuotaCog(commands.Cog):
    """Spending limits."""

    def __init__(self, bot: EggBot) -> None:
        self.bot = bot
        self.quota = QuotaGroup(bot)

    async def cog_load(self) -> None:
        """Register the moderator group."""
        self.bot.tree.add_command(self.quota)

    async def cog_unload(self) -> None:
        """Remove the moderator group."""
        self.bot.tree.remove_command(self.quota.name)

    @app_commands.command(name="balance")
    @app_commands.guild_only()
    async def balance(self, interaction: discord.Interaction) -> None:
        """Show how much of your image budget is left."""
        standing = await self.bot.ledger.balance(interaction.guild_id, interaction.user.id, role_ids(interaction.user))
        price = await self.bot.ledger.unit_price()
        t = for_member(interaction)
        in_images = budget_line(t, images_left(standing, price), price)
        await interaction.response.send_message(f"{balance_text(t, standing)}\n{in_images}", ephemeral=True)
