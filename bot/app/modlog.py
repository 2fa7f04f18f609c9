"""The mod-log's Discord side: events written as lines (mentions, jump links, money), posted quietly."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.app.publisher import GONE_CODES
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


def line(guild_id: int, event: ModLogEvent) -> str:
    """One mod-log line for ``event``."""
    if isinstance(event, JobPosted):
        cost = "cost unknown" if event.cost is None else format_money(event.cost)
        where = (
            "sent by DM"
            if event.channel_id is None or event.message_id is None
            else f"https://discord.com/channels/{guild_id}/{event.channel_id}/{event.message_id}"
        )
        options = ", ".join(_quoted(option, VALUE_CHARS) for option in event.options)
        prompt = _quoted(event.prompt, PROMPT_CHARS)
        return f'🖼️ <@{event.member_id}> job #{event.task_id}: "{prompt}" · {options} · {cost} · {where}'
    if isinstance(event, JobRefused):
        return f'⛔ <@{event.member_id}> refused for {event.rule}: "{_quoted(event.prompt, PROMPT_CHARS)}"'
    if isinstance(event, SettingChanged):
        before, after = _cut(event.before, VALUE_CHARS), _cut(event.after, VALUE_CHARS)  # the cogs wrote them inert
        return f"⚙️ <@{event.moderator_id}> changed {event.what}: {before} → {after}"
    if isinstance(event, MemberForgotten):
        jobs = f"{event.jobs} job{'s' if event.jobs != 1 else ''}"
        left = f" ({event.unfinished} unfinished left alone)" if event.unfinished else ""
        return (
            f"🧹 <@{event.moderator_id}> erased the stored prompts and links of <@{event.member_id}> "
            f"({event.member_id}): {jobs}{left}; the ledger's amounts are kept"
        )
    if isinstance(event, EventsDropped):
        return f"… {event.count} more event{'s' if event.count != 1 else ''} dropped (too many at once)"
    raise TypeError(f"not a mod-log event: {event!r}")


class DiscordModLog:
    """Implements ``bot.modlog.ModLogPort``: plain channel messages that mention nobody."""

    def __init__(self, bot: EggBot) -> None:
        self._bot = bot

    def line(self, guild_id: int, event: ModLogEvent) -> str:
        """One line for ``event``."""
        return line(guild_id, event)

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
                raise ModLogUnavailable(GONE_CODES.get(exc.code, "I cannot post there")) from exc
            raise


def outage_text(channel_id: int, reason: str) -> str:
    """What a moderator is told once when the mod-log channel cannot take posts."""
    return (
        f"⚠️ The mod-log is not being posted: in <#{channel_id}>, {reason}. "
        "Give me View Channel and Send Messages there, or pick another channel with `/policy modlog`."
    )
