"""What a member is told when something fails, and one way to tell them that survives an expired token.

``describe_error`` is the ladder: a pure function from an error to the words and whether it is a
bug or outage worth logging loudly. ``report`` logs and answers; the tree, views and buttons all
call it. ``respond`` answers ephemerally and, when Discord no longer accepts the interaction's
token (15 minutes, or a first answer later than 3 seconds), falls back so the member still hears.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime
from typing import NamedTuple

import discord
from discord import app_commands

from bot.app.checks import ShuttingDown
from bot.eggapi import EggAPIError
from bot.errors import UserFacingError

log = logging.getLogger(__name__)

GENERIC_FAILURE = "Something went wrong on our side. It has been logged; please try again in a moment."
RESTARTING = "I'm restarting right now. Please try again in a minute."
OUT_OF_DATE = "This command is out of date. Please try again in a minute."
# Discord's answers when an interaction token can no longer be used: Unknown Webhook, Unknown
# Interaction (a first answer after 3 seconds), Invalid Webhook Token (after 15 minutes).
TOKEN_GONE = frozenset({10015, 10062, 50027})


class ErrorReply(NamedTuple):
    """The words for an error, whether it is unexpected, and whether they may be shown in public."""

    text: str
    unexpected: bool
    public: bool = False


def _relative(moment: datetime) -> str:
    return discord.utils.format_dt(moment, "R")  # "in 3 hours", in the reader's own clock


def _channel(channel_id: int) -> str:
    return f"<#{channel_id}>"  # a link to the channel, in the reader's own client


def _permission_names(missing: list[str]) -> str:
    return ", ".join(name.replace("_", " ").replace("guild", "server").title() for name in missing)


def describe_error(error: Exception, *, now: float | None = None, locale: str | None = None) -> ErrorReply:
    """The member-facing reply to an error. Never upstream text or a traceback.

    Only our own failures are ``public``: refusals speak of the member's request or standing.
    """
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, UserFacingError) and original.key:
        return ErrorReply(original.text(locale), False)
    if isinstance(original, UserFacingError):
        return ErrorReply(original.render(_relative, _channel), False)
    if isinstance(original, EggAPIError):
        return ErrorReply(original.user_message, False)
    if isinstance(error, ShuttingDown):
        return ErrorReply(RESTARTING, False, public=True)
    if isinstance(error, app_commands.NoPrivateMessage):
        return ErrorReply("This command only works in a server channel.", False)
    if isinstance(error, app_commands.MissingPermissions):
        return ErrorReply(f"You need the {_permission_names(error.missing_permissions)} permission to do that.", False)
    if isinstance(error, app_commands.BotMissingPermissions):
        return ErrorReply(f"I need the {_permission_names(error.missing_permissions)} permission here.", False)
    if isinstance(error, app_commands.CommandOnCooldown):
        ready = math.ceil((time.time() if now is None else now) + error.retry_after)
        return ErrorReply(f"Slow down a little: you can use this again <t:{ready}:R>.", False)
    if isinstance(error, app_commands.TransformerError):
        return ErrorReply("One of the values you gave is not valid. Check the options and try again.", False)
    if isinstance(error, app_commands.CheckFailure):
        return ErrorReply("You can't use this command here.", False)
    if isinstance(error, app_commands.CommandNotFound):
        return ErrorReply(OUT_OF_DATE, True, public=True)
    return ErrorReply(GENERIC_FAILURE, True, public=True)


async def report(interaction: discord.Interaction, error: Exception, *, context: str | None = None) -> None:
    """Log an error once for operators (loudly only when unexpected) and answer the member politely."""
    reply = describe_error(error, locale=str(interaction.locale))
    custom_id = interaction.data.get("custom_id") if interaction.data else None
    where = context or f"component {custom_id!r} by member {interaction.user.id}"
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(error, app_commands.CommandNotFound):
        log.error("%s: command not registered here; run `python -m bot sync`", where)
    elif reply.unexpected:
        log.error("%s failed", where, exc_info=original)
    elif isinstance(original, EggAPIError):
        log.warning("%s: EggAPI said HTTP %s %s", where, original.status, original.code)
    else:
        log.info("%s refused: %s", where, type(original).__name__)
    await respond(interaction, reply.text, public=reply.public)


async def respond(interaction: discord.Interaction, content: str, *, public: bool = False) -> None:
    """Reply ephemerally whether or not the interaction was answered, falling back if its token is gone.

    ``public`` says the text may be read by anyone in the channel (it is about us, not the member).
    """
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True)
        else:
            await interaction.response.send_message(content, ephemeral=True)
    except discord.HTTPException as exc:
        if exc.code not in TOKEN_GONE:
            log.warning("could not send the reply for interaction %s: %s", interaction.id, exc)
            return
        await _fall_back(interaction, content, public=public)


async def _fall_back(interaction: discord.Interaction, content: str, *, public: bool) -> None:
    """Tell the member without the interaction (Red's ``_send_from_interaction`` does the same).

    Public-safe text goes to the channel, mentioning (and pinging) only that member. Private text
    (a refusal, a budget) goes by DM, which only they can read; if their DMs are closed it is
    dropped and logged at INFO: posting it in the channel would show others what was meant for
    one member, and the member can simply try again.
    """
    user = interaction.user
    channel = interaction.channel
    try:
        if public and isinstance(channel, discord.abc.Messageable):
            await channel.send(
                f"{user.mention} {content}",
                allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=[user], replied_user=False),
            )
        else:
            where = f" in <#{interaction.channel_id}>" if interaction.guild_id is not None else ""
            await user.send(
                f"I could not answer you{where} in time: {content}", allowed_mentions=discord.AllowedMentions.none()
            )
    except discord.HTTPException as exc:
        log.info(
            "interaction %s expired and member %s could not be told another way (%s); reply dropped",
            interaction.id,
            user.id,
            exc.code,
        )
