"""/policy: a server's rules for /imagine (Manage Server, checked again at run time).

Parse, call ``bot.policy.PromptPolicy``, render. The rules themselves are enforced by its intake
check on every path that starts a job, not here.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.checks import moderators_only
from bot.app.locales import for_server
from bot.errors import InvalidRequest
from cogs._shared.modlog import BEFORE, outage_note, record_change
from cogs.mydata import ask_to_erase
from cogs.policy._render import (
    blocked_text,
    change_text,
    channels_text,
    literal,
    overview_fields,
    overview_text,
    patterns_text,
    terms_text,
)

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

PostChannel = discord.TextChannel | discord.ForumChannel  # where /imagine runs (a forum: in its posts)


def _guild(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:  # guild_only: Discord does not offer it elsewhere; moderators_only checks
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


def _where(interaction: discord.Interaction, channel_id: int | None) -> str:
    return for_server(interaction)("policy.modlog_off") if channel_id is None else f"<#{channel_id}>"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class PolicyGroup(app_commands.Group, name="policy", description="This server's rules for /imagine (moderators)"):
    """Moderator commands; every change is logged for the operator. Answers are in the server's language."""

    words = app_commands.Group(name="words", description="Words and phrases prompts may not contain")
    regex = app_commands.Group(name="regex", description="Regular expressions prompts may not match")
    channels = app_commands.Group(name="channels", description="Which channels /imagine runs in")

    def __init__(self, bot: EggBot) -> None:
        super().__init__()
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Check Manage Server at run time too: server admins can override the default permission."""
        allowed = moderators_only(interaction)
        interaction.extras[BEFORE] = await self.bot.policy.overview(_guild(interaction))  # for the mod-log
        return allowed

    async def _say(self, interaction: discord.Interaction, text: str, *, did: str | None = None) -> None:
        if did is not None:
            log.info("guild %s: moderator %s %s", interaction.guild_id, interaction.user.id, did)
            t = for_server(interaction)
            before = overview_fields(t, interaction.extras[BEFORE])
            after = overview_fields(t, await self.bot.policy.overview(_guild(interaction)))
            for what, value in after.items():
                record_change(self.bot, interaction, what, before[what], value)
        text += outage_note(self.bot, interaction)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    @app_commands.command(name="show")
    async def show(self, interaction: discord.Interaction) -> None:
        """Show this server's rules: blocked words and patterns, channels, blocked members."""
        t = for_server(interaction)
        await self._say(interaction, overview_text(t, await self.bot.policy.overview(_guild(interaction))))

    # ------------------------------------------------------------------ words

    @words.command(name="add")
    @app_commands.describe(terms="One or more words or phrases, separated by commas")
    async def words_add(self, interaction: discord.Interaction, terms: app_commands.Range[str, 1, 1000]) -> None:
        """Refuse prompts that contain these words or phrases (whole words; common disguises are caught)."""
        change = await self.bot.policy.add_terms(_guild(interaction), terms)
        t = for_server(interaction)
        text = change_text(t, change, done="policy.words.blocked", skipped="policy.words.already")
        await self._say(interaction, text, did=f"blocked {len(change.done)} term(s)")

    @words.command(name="remove")
    @app_commands.describe(terms="One or more blocked words or phrases, separated by commas")
    async def words_remove(self, interaction: discord.Interaction, terms: app_commands.Range[str, 1, 1000]) -> None:
        """Stop refusing prompts for these words or phrases."""
        change = await self.bot.policy.remove_terms(_guild(interaction), terms)
        t = for_server(interaction)
        text = change_text(t, change, done="policy.words.unblocked", skipped="policy.words.not_listed")
        await self._say(interaction, text, did=f"unblocked {len(change.done)} term(s)")

    @words.command(name="list")
    async def words_list(self, interaction: discord.Interaction) -> None:
        """List the blocked words and phrases (the whole list as a file when it is long)."""
        overview = await self.bot.policy.overview(_guild(interaction))
        t = for_server(interaction)
        text, cut = terms_text(t, overview.terms)
        if not cut:
            await self._say(interaction, text)
            return
        full = io.BytesIO("\n".join(overview.terms).encode())
        await interaction.response.send_message(
            text,
            ephemeral=True,
            file=discord.File(full, filename="blocked-words.txt", description=t("policy.words.file")),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    # ------------------------------------------------------------------ regular expressions

    @regex.command(name="add")
    @app_commands.describe(pattern="A regular expression (Python syntax, case-insensitive), at most 200 characters")
    async def regex_add(self, interaction: discord.Interaction, pattern: app_commands.Range[str, 1, 200]) -> None:
        """Refuse prompts that match this regular expression."""
        added = await self.bot.policy.add_pattern(_guild(interaction), pattern)
        t = for_server(interaction)
        if not added:
            await self._say(interaction, t("policy.regex.already", pattern=literal(pattern)))
            return
        await self._say(interaction, t("policy.regex.blocked", pattern=literal(pattern)), did="added a pattern")

    @regex.command(name="remove")
    @app_commands.describe(pattern="The regular expression, exactly as /policy regex list shows it")
    async def regex_remove(self, interaction: discord.Interaction, pattern: app_commands.Range[str, 1, 200]) -> None:
        """Stop refusing prompts that match this regular expression."""
        if not await self.bot.policy.remove_pattern(_guild(interaction), pattern):
            raise InvalidRequest(key="errors.policy.pattern_not_listed")
        t = for_server(interaction)
        await self._say(interaction, t("policy.regex.unblocked", pattern=literal(pattern)), did="removed a pattern")

    @regex.command(name="list")
    async def regex_list(self, interaction: discord.Interaction) -> None:
        """List the blocked regular expressions."""
        overview = await self.bot.policy.overview(_guild(interaction))
        await self._say(interaction, patterns_text(for_server(interaction), overview.patterns))

    # ------------------------------------------------------------------ channels

    @channels.command(name="allow")
    @app_commands.describe(channel="A channel where /imagine may run (its threads too)")
    async def channels_allow(self, interaction: discord.Interaction, channel: PostChannel) -> None:
        """Let /imagine run in this channel; once any channel is allowed, only allowed ones."""
        guild = _guild(interaction)
        added = await self.bot.policy.allow_channel(guild, channel.id)
        overview = await self.bot.policy.overview(guild)
        t = for_server(interaction)
        done = t("policy.channel.allowed" if added else "policy.channel.already", channel=channel.mention)
        text = f"{done}\n{channels_text(t, overview.channels)}"
        await self._say(interaction, text, did=f"allowed channel {channel.id}")

    @channels.command(name="remove")
    @app_commands.describe(channel="A channel to take off the allowed list")
    async def channels_remove(self, interaction: discord.Interaction, channel: PostChannel) -> None:
        """Take a channel off the allowed list (an empty list allows every channel)."""
        guild = _guild(interaction)
        if not await self.bot.policy.remove_channel(guild, channel.id):
            raise InvalidRequest(key="errors.policy.channel_not_listed", channel=channel.mention)
        overview = await self.bot.policy.overview(guild)
        t = for_server(interaction)
        done = f"{t('policy.channel.removed', channel=channel.mention)}\n{channels_text(t, overview.channels)}"
        await self._say(interaction, done, did=f"removed channel {channel.id}")

    @channels.command(name="list")
    async def channels_list(self, interaction: discord.Interaction) -> None:
        """Show where /imagine runs."""
        overview = await self.bot.policy.overview(_guild(interaction))
        await self._say(interaction, channels_text(for_server(interaction), overview.channels))

    @channels.command(name="clear")
    async def channels_clear(self, interaction: discord.Interaction) -> None:
        """Let /imagine run in every channel again."""
        await self.bot.policy.clear_channels(_guild(interaction))
        text = f"✅ {channels_text(for_server(interaction), ())}"
        await self._say(interaction, text, did="cleared the channel rules")

    # ------------------------------------------------------------------ mod-log

    @app_commands.command(name="modlog")
    @app_commands.describe(channel="Where jobs, refusals and moderators' changes are logged; leave empty to stop")
    async def modlog(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        """Log every job, refusal and moderator change in a channel (or stop logging)."""
        guild = _guild(interaction)
        new = channel.id if channel is not None else None
        before = await self.bot.modlog.set_channel(guild, new)
        t = for_server(interaction)
        what = t("policy.fields.modlog")
        record_change(self.bot, interaction, what, _where(interaction, before), _where(interaction, new))
        if channel is not None:
            done = t("policy.modlog_to", channel=channel.mention)
        else:
            done = t("policy.modlog_stopped")
        await self._say(interaction, done, did=f"set the mod-log channel to {new}")

    # ------------------------------------------------------------------ members

    @app_commands.command(name="block")
    @app_commands.describe(member="Who may not use the bot here", reason="Shown to them when they try (optional)")
    async def block(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        reason: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        """Stop a member from making images on this server."""
        guild = _guild(interaction)
        if member.bot:
            raise InvalidRequest(key="errors.policy.bot_member")
        await self.bot.policy.block(guild, member.id, reason)
        overview = await self.bot.policy.overview(guild)
        t = for_server(interaction)
        text = f"{t('policy.member.blocked', member=member.mention)}\n{blocked_text(t, overview.blocked)}"
        await self._say(interaction, text, did=f"blocked member {member.id}")

    @app_commands.command(name="unblock")
    @app_commands.describe(member="Who may use the bot again")
    async def unblock(self, interaction: discord.Interaction, member: discord.Member) -> None:
        """Let a blocked member make images again."""
        if not await self.bot.policy.unblock(_guild(interaction), member.id):
            raise InvalidRequest(key="errors.policy.not_blocked", member=member.mention)
        text = for_server(interaction)("policy.member.unblocked", member=member.mention)
        await self._say(interaction, text, did=f"unblocked member {member.id}")

    @app_commands.command(name="forget")
    @app_commands.describe(member_id="The member's user id (Copy User ID), also for someone who left the server")
    async def forget(self, interaction: discord.Interaction, member_id: app_commands.Range[str, 1, 40]) -> None:
        """Delete a member's prompts, result links and settings here (asks first; the ledger's amounts stay)."""
        digits = member_id.strip().removeprefix("<@").removeprefix("!").removesuffix(">")
        if not digits.isdigit() or not 0 < int(digits) < 2**63:
            raise InvalidRequest(key="errors.policy.not_user_id")
        log.info("guild %s: moderator %s asked to forget member %s", interaction.guild_id, interaction.user.id, digits)
        await ask_to_erase(self.bot, interaction, int(digits), by_moderator=True)


class PolicyCog(commands.Cog):
    """A server's rules for /imagine."""

    def __init__(self, bot: EggBot) -> None:
        self.bot = bot
        self.policy = PolicyGroup(bot)

    async def cog_load(self) -> None:
        """Register the moderator group."""
        self.bot.tree.add_command(self.policy)

    async def cog_unload(self) -> None:
        """Remove the moderator group."""
        self.bot.tree.remove_command(self.policy.name)
