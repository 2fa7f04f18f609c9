"""What a member is told when something fails, and one way to tell them that survives an expired token.

``describe_error`` is the ladder: a pure function from an error to the words and whether it is a
bug or outage worth logging loudly. ``report`` logs and answers; the tree, views and buttons all
call it. ``respond`` answers ephemerally and, when Discord no longer accepts the interaction's
token (15 minutes, or a first answer later than 3 seconds), falls back so the member still hears.
Every word comes from the catalogues (``bot.i18n``), in the reader's language (``bot.app.locales``).
"""

from __future__ import annotations

import logging
import math
import time
from typing import NamedTuple

import discord
from discord import app_commands

from bot.app.checks import ShuttingDown
from bot.app.locales import DISCORD, reader_locale
from bot.eggapi import EggAPIError
from bot.errors import UserFacingError
from bot.i18n import Texts, texts
from bot.storage import DatabaseAway

log = logging.getLogger(__name__)

GENERIC_FAILURE = texts(None)("replies.generic_failure")  # in English; each reader gets their own language
RESTARTING = texts(None)("replies.restarting")
OUT_OF_DATE = texts(None)("replies.out_of_date")
# Discord's answers when an interaction token can no longer be used: Unknown Webhook, Unknown
# Interaction (a first answer after 3 seconds), Invalid Webhook Token (after 15 minutes).
TOKEN_GONE = frozenset({10015, 10062, 50027})


class ErrorReply(NamedTuple):
    """The words for an error, whether it is unexpected, and whether they may be shown in public."""

    text: str
    unexpected: bool
    public: bool = False


def permission_names(t: Texts, missing: list[str]) -> str:
    """Discord's names for permissions, as its settings show them in the reader's language."""
    key = "permissions.{}".format
    return ", ".join(
        t(key(name)) if t.has(key(name)) else name.replace("_", " ").replace("guild", "server").title()
        for name in missing
    )


def describe_error(error: Exception, *, now: float | None = None, locale: str | None = None) -> ErrorReply:
    """The member-facing reply to an error, in ``locale``'s language. Never upstream text or a traceback.

    Only our own failures are ``public``: refusals speak of the member's request or standing.
    """
    t = texts(locale, DISCORD)
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, UserFacingError):
        return ErrorReply(original.text(locale, DISCORD), False)
    if isinstance(original, EggAPIError):
        return ErrorReply(t(original.user_key), False)
    if isinstance(original, DatabaseAway):
        return ErrorReply(t("replies.database_away"), False, public=True)
    if isinstance(error, ShuttingDown):
        return ErrorReply(t("replies.restarting"), False, public=True)
    if isinstance(error, app_commands.NoPrivateMessage):
        return ErrorReply(t("replies.server_only"), False)
    if isinstance(error, app_commands.MissingPermissions):
        names = permission_names(t, error.missing_permissions)
        return ErrorReply(t("replies.member_missing_permission", permissions=names), False)
    if isinstance(error, app_commands.BotMissingPermissions):
        names = permission_names(t, error.missing_permissions)
        return ErrorReply(t("replies.bot_missing_permission", permissions=names), False)
    if isinstance(error, app_commands.CommandOnCooldown):
        ready = math.ceil((time.time() if now is None else now) + error.retry_after)
        return ErrorReply(t("replies.cooldown", when=f"<t:{ready}:R>"), False)
    if isinstance(error, app_commands.TransformerError):
        return ErrorReply(t("replies.invalid_value"), False)
    if isinstance(error, app_commands.CheckFailure):
        return ErrorReply(t("replies.not_here"), False)
    if isinstance(error, app_commands.CommandNotFound):
        return ErrorReply(t("replies.out_of_date"), True, public=True)
    return ErrorReply(t("replies.generic_failure"), True, public=True)


async def report(
    interaction: discord.Interaction, error: Exception, *, context: str | None = None, locale: str | None = None
) -> None:
    """Log an error once for operators (loudly only when unexpected) and answer politely.

    In the reader's language: ``locale`` when given, else the member's (the server's for a moderator command).
    """
    locale = locale or reader_locale(interaction)
    reply = describe_error(error, locale=locale)
    custom_id = interaction.data.get("custom_id") if interaction.data else None
    where = context or f"component {custom_id!r} by member {interaction.user.id}"
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(error, app_commands.CommandNotFound):
        log.error("%s: command not registered here; run `python -m bot sync`", where)
    elif reply.unexpected:
        log.error("%s failed", where, exc_info=original)
    elif isinstance(original, EggAPIError):
        log.warning("%s: EggAPI said HTTP %s %s", where, original.status, original.code)
    elif isinstance(original, DatabaseAway):
        log.warning("%s: the database is away (%s)", where, original)
    else:
        log.info("%s refused: %s", where, type(original).__name__)
    await respond(interaction, reply.text, public=reply.public, locale=locale)


async def respond(
    interaction: discord.Interaction, content: str, *, public: bool = False, locale: str | None = None
) -> None:
    """Reply ephemerally whether or not the interaction was answered, falling back if its token is gone.

    ``public`` says the text may be read by anyone in the channel (it is about us, not the member);
    ``locale`` is the language of ``content``, for the few words a fallback adds (the member's by default).
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
        await _fall_back(interaction, content, public=public, locale=locale)


async def _fall_back(interaction: discord.Interaction, content: str, *, public: bool, locale: str | None) -> None:
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
            t = texts(locale or str(interaction.locale), DISCORD)
            if interaction.guild_id is not None:
                late = t("replies.late_in_channel", channel=f"<#{interaction.channel_id}>", reply=content)
            else:
                late = t("replies.late", reply=content)
            await user.send(late, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException as exc:
        log.info(
            "interaction %s expired and member %s could not be told another way (%s); reply dropped",
            interaction.id,
            user.id,
            exc.code,
        )
