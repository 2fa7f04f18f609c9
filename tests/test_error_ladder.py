"""The error ladder as a table: every error the bot raises or receives -> what the member reads.

Also: whether it is logged as unexpected, and whether the words may go public when the token is
gone. Every error carries a secret in its own text; no reply may show it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.app.checks import ShuttingDown
from bot.app.replies import GENERIC_FAILURE, OUT_OF_DATE, RESTARTING, ErrorReply, describe_error
from bot.eggapi import (
    BadRequest,
    DownloadTooLarge,
    EggAPIError,
    Forbidden,
    InsufficientBalance,
    InternalError,
    MalformedResponse,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    SubmitOutcomeUnknown,
    TransportError,
    Unauthorized,
    UpstreamError,
    ValidationFailed,
)
from bot.errors import (
    ChannelNotAllowed,
    InvalidRequest,
    NotAllowedHere,
    PolicyRefusal,
    QueueFull,
    ServiceMisconfigured,
    UpstreamUnavailable,
    UserFacingError,
)
from bot.ledger import QuotaExceeded, QuotaReason
from bot.lifecycle.intake import DatabaseBusy
from bot.policy import MemberBlocked

SECRET = "Traceback: sk-live-123 at node 7"
NOW = 1_700_000_000.0
SERVICE_TROUBLE = "The image service is having trouble right now. Please try again in a little while."


async def _noop(interaction: discord.Interaction) -> None:
    """A command body, only for CommandInvokeError's command."""


COMMAND: app_commands.Command[Any, ..., None] = app_commands.Command(name="imagine", description="d", callback=_noop)


def invoked(error: Exception) -> app_commands.CommandInvokeError:
    """How discord.py hands over an exception raised inside a command."""
    return app_commands.CommandInvokeError(COMMAND, error)


def http_error(status: int, code: int) -> discord.HTTPException:
    class Response:
        reason = "Nope"

    Response.status = status  # type: ignore[attr-defined]
    return discord.HTTPException(Response(), {"code": code, "message": SECRET})


LADDER: list[tuple[str, Exception, ErrorReply]] = [
    # Our own refusals: their words, as they are.
    (
        "InvalidRequest",
        invoked(InvalidRequest("That prompt is too long.")),
        ErrorReply("That prompt is too long.", False),
    ),
    ("QueueFull", invoked(QueueFull("You have 3 jobs waiting.")), ErrorReply("You have 3 jobs waiting.", False)),
    ("NotAllowedHere", invoked(NotAllowedHere("Not in DMs.")), ErrorReply("Not in DMs.", False)),
    ("UpstreamUnavailable", invoked(UpstreamUnavailable("Try later.")), ErrorReply("Try later.", False)),
    ("ServiceMisconfigured", invoked(ServiceMisconfigured("Ask the owner.")), ErrorReply("Ask the owner.", False)),
    (
        "DatabaseBusy",
        invoked(DatabaseBusy()),
        ErrorReply(
            "I'm too busy to take this right now. Nothing was recorded or charged; please try again in a moment.", False
        ),
    ),
    (
        "QuotaExceeded",
        invoked(QuotaExceeded(QuotaReason.PAUSED, available=Decimal(0), needed=Decimal("0.01"), resets_at=None)),
        ErrorReply("Image generation is paused on this server by its moderators. Nothing was charged.", False),
    ),
    (
        "QuotaExceeded with a reset",
        invoked(
            QuotaExceeded(
                QuotaReason.MEMBER_LIMIT,
                available=Decimal(0),
                needed=Decimal("0.01"),
                resets_at=datetime(2025, 3, 13, tzinfo=UTC),
                limit=Decimal("0.10"),
            )
        ),
        ErrorReply(
            "You've used all of your daily image budget ($0.10). It resets <t:1741824000:R>. /balance has the details.",
            False,
        ),
    ),
    ("PolicyRefusal", invoked(PolicyRefusal("Not here.")), ErrorReply("Not here.", False)),
    (
        "ChannelNotAllowed",
        invoked(ChannelNotAllowed((11, 12))),
        ErrorReply("On this server, images can be made only in <#11>, <#12>. Try there. Nothing was charged.", False),
    ),
    (
        "MemberBlocked",
        invoked(MemberBlocked("spam")),
        ErrorReply(
            'A moderator has blocked you from making images on this server. The reason given: "spam". '
            "Nothing was charged.",
            False,
        ),
    ),
    ("UserFacingError unwrapped", InvalidRequest("Plain."), ErrorReply("Plain.", False)),
    # EggAPI: its polite sentence, never its message.
    (
        "BadRequest",
        invoked(BadRequest(SECRET, status=400)),
        ErrorReply("The image service could not understand the request.", False),
    ),
    (
        "ValidationFailed",
        invoked(ValidationFailed(SECRET, status=400)),
        ErrorReply(
            "The image service rejected the request options. Please check the prompt length and settings.", False
        ),
    ),
    (
        "Unauthorized",
        invoked(Unauthorized(SECRET, status=401)),
        ErrorReply("The image service did not accept the bot's key; only the bot's owner can fix that.", False),
    ),
    (
        "Forbidden",
        invoked(Forbidden(SECRET, status=403)),
        ErrorReply(
            "The bot's image service account is not allowed to do this; only the bot's owner can fix that.", False
        ),
    ),
    (
        "InsufficientBalance",
        invoked(InsufficientBalance(SECRET, status=403)),
        ErrorReply("The bot's image service account is out of credit, and only the bot's owner can top it up.", False),
    ),
    ("NotFound", invoked(NotFound(SECRET, status=404)), ErrorReply("That image task could not be found.", False)),
    (
        "RateLimited",
        invoked(RateLimited(SECRET, status=429)),
        ErrorReply("The image service is busy right now. Please try again in a little while.", False),
    ),
    (
        "TransportError",
        invoked(TransportError(SECRET)),
        ErrorReply("The image service could not be reached. Please try again in a little while.", False),
    ),
    ("InternalError", invoked(InternalError(SECRET, status=500)), ErrorReply(SERVICE_TROUBLE, False)),
    ("UpstreamError", invoked(UpstreamError(SECRET, status=502)), ErrorReply(SERVICE_TROUBLE, False)),
    ("ServiceUnavailable", invoked(ServiceUnavailable(SECRET, status=503)), ErrorReply(SERVICE_TROUBLE, False)),
    (
        "MalformedResponse",
        invoked(MalformedResponse(SECRET)),
        ErrorReply("The image service sent an unexpected answer. Please try again later.", False),
    ),
    (
        "DownloadTooLarge",
        invoked(DownloadTooLarge(SECRET)),
        ErrorReply("The generated image is too large to upload here.", False),
    ),
    (
        "SubmitOutcomeUnknown",
        invoked(SubmitOutcomeUnknown(SECRET)),
        ErrorReply(
            "The image service did not confirm the request. It may still be processing, so please don't "
            "submit it again right away.",
            False,
        ),
    ),
    # discord.py's own errors.
    ("ShuttingDown", ShuttingDown(SECRET), ErrorReply(RESTARTING, False, public=True)),
    (
        "NoPrivateMessage",
        app_commands.NoPrivateMessage(SECRET),
        ErrorReply("This command only works in a server channel.", False),
    ),
    (
        "MissingPermissions",
        app_commands.MissingPermissions(["manage_guild"]),
        ErrorReply("You need the Manage Server permission to do that.", False),
    ),
    (
        "BotMissingPermissions",
        app_commands.BotMissingPermissions(["attach_files", "send_messages"]),
        ErrorReply("I need the Attach Files, Send Messages permission here.", False),
    ),
    (
        "CommandOnCooldown",
        app_commands.CommandOnCooldown(app_commands.Cooldown(1, 30.0), 12.5),
        ErrorReply("Slow down a little: you can use this again <t:1700000013:R>.", False),
    ),
    (
        "TransformerError",
        app_commands.TransformerError(SECRET, discord.AppCommandOptionType.integer, app_commands.Transformer()),
        ErrorReply("One of the values you gave is not valid. Check the options and try again.", False),
    ),
    ("CheckFailure", app_commands.CheckFailure(SECRET), ErrorReply("You can't use this command here.", False)),
    ("CommandNotFound", app_commands.CommandNotFound("imagine", []), ErrorReply(OUT_OF_DATE, True, public=True)),
    # Anything else is a bug or an outage: logged loudly, worded generically.
    ("RuntimeError", invoked(RuntimeError(SECRET)), ErrorReply(GENERIC_FAILURE, True, public=True)),
    ("HTTPException", invoked(http_error(500, 0)), ErrorReply(GENERIC_FAILURE, True, public=True)),
    ("expired token", invoked(http_error(401, 50027)), ErrorReply(GENERIC_FAILURE, True, public=True)),
    ("bare RuntimeError", RuntimeError(SECRET), ErrorReply(GENERIC_FAILURE, True, public=True)),
    ("AppCommandError", app_commands.AppCommandError(SECRET), ErrorReply(GENERIC_FAILURE, True, public=True)),
]


@pytest.mark.parametrize(("error", "expected"), [row[1:] for row in LADDER], ids=[row[0] for row in LADDER])
def test_ladder(error: Exception, expected: ErrorReply) -> None:
    reply = describe_error(error, now=NOW)
    assert reply == expected
    assert "sk-live" not in reply.text and "Traceback" not in reply.text


def test_every_user_facing_and_eggapi_error_class_is_in_the_table() -> None:
    def leaves(base: type[Exception]) -> set[str]:
        found: set[str] = set()
        for sub in base.__subclasses__():
            found |= leaves(sub) or {sub.__name__}
        return found

    named = {row[0] for row in LADDER}
    assert leaves(UserFacingError) | leaves(EggAPIError) <= named
