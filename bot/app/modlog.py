"""The mod-log's Discord side: events written as lines (mentions, jump links, money), posted quietly."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.app.locales import DISCORD, guild_locale
from bot.app.publisher import GONE_CODES
from bot.i18n import Text, Texts, texts
from bot.modlog import (
    EventsDropped,
    JobPosted,
    JobRefused,
    MemberForgotten,
    ModLogEvent,
    ModLogUnavailable,
    SettingChanged,
)
from bot.money import format_money

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

PROMPT_CHARS = 200
VALUE_CHARS = 300


def _cut(text: str, limit: int) -> str:
    """On one line, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _quoted(text: str, limit: int) -> str:
    """A member's text, one line, cut, with markdown shown as typed and no mentions."""
    return discord.utils.escape_markdown(discord.utils.escape_mentions(_cut(text, limit)))


def line(guild_id: int, event: ModLogEvent, t: Texts | None = None) -> str:
    """One mod-log line for ``event``, in the language of ``t`` (the server's; English without)."""
    t = t or texts(None, DISCORD)
    if isinstance(event, JobPosted):
        cost = t("modlog.cost_unknown") if event.cost is None else format_money(event.cost)
        where = (
            t("modlog.sent_by_dm")
            if event.channel_id is None or event.message_id is None
            else f"https://discord.com/channels/{guild_id}/{event.channel_id}/{event.message_id}"
        )
        options = ", ".join(_quoted(t.render(option), VALUE_CHARS) for option in event.options)
        prompt = _quoted(event.prompt, PROMPT_CHARS)
        return t(
            "modlog.job",
            member=f"<@{event.member_id}>",
            id=event.task_id,
            prompt=prompt,
            options=options,
            cost=cost,
            where=where,
        )
    if isinstance(event, JobRefused):
        prompt = _quoted(event.prompt, PROMPT_CHARS)
        return t("modlog.refused", member=f"<@{event.member_id}>", rule=t.render(event.rule), prompt=prompt)
    if isinstance(event, SettingChanged):
        before, after = _cut(event.before, VALUE_CHARS), _cut(event.after, VALUE_CHARS)  # the cogs wrote them inert
        return t("modlog.changed", moderator=f"<@{event.moderator_id}>", what=event.what, before=before, after=after)
    if isinstance(event, MemberForgotten):
        left = Text("modlog.left_alone", count=event.unfinished) if event.unfinished else ""
        return t(
            "modlog.forgot",
            moderator=f"<@{event.moderator_id}>",
            member=f"<@{event.member_id}>",
            id=event.member_id,
            count=event.jobs,
            left=left,
        )
    if isinstance(event, EventsDropped):
        return t("modlog.dropped", count=event.count)
    raise TypeError(f"not a mod-log event: {event!r}")


class DiscordModLog:
    """Implements ``bot.modlog.ModLogPort``: plain channel messages that mention nobody."""

    def __init__(self, bot: EggBot) -> None:
        self._bot = bot

    def line(self, guild_id: int, event: ModLogEvent) -> str:
        """One line for ``event``, in the server's language."""
        return line(guild_id, event, texts(guild_locale(self._bot.get_guild(guild_id)), DISCORD))

    async def post_modlog(self, channel_id: int, text: str) -> None:
        """Post ``text``; a channel gone or closed to the bot raises ModLogUnavailable."""
        channel = self._bot.get_channel(channel_id)
        destination: discord.abc.Messageable = (
            channel if isinstance(channel, discord.abc.Messageable) else self._bot.get_partial_messageable(channel_id)
        )
        try:
            await destination.send(text, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            if exc.code in GONE_CODES or isinstance(exc, discord.Forbidden | discord.NotFound):
                raise ModLogUnavailable(GONE_CODES.get(exc.code, "delivery.gone.cannot_post")) from exc
            raise


def outage_text(t: Texts, channel_id: int, reason: str) -> str:
    """What a moderator is told once when the mod-log channel cannot take posts (``reason``: a catalogue key,
    or words)."""
    why = t(reason) if t.has(reason) else reason
    return t("modlog.outage", channel=f"<#{channel_id}>", reason=why)
