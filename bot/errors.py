"""Domain errors that carry a message safe to show to a member.

Services raise these; the command tree's error handler turns them into a polite ephemeral
reply. The text never contains upstream messages, stack traces or secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime


class UserFacingError(Exception):
    """An error whose ``user_message`` may be shown to the member as it is."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message

    def render(self, moment: Callable[[datetime], str]) -> str:
        """The message with any point in time written by ``moment``.

        The core knows no Discord markup: ``user_message`` writes times plainly, and the Discord
        side passes a renderer that shows them in each reader's own timezone.
        """
        return self.user_message


class InvalidRequest(UserFacingError):
    """The member's input breaks a rule (too long, wrong value); nothing was submitted."""


class QueueFull(UserFacingError):
    """The member has as many jobs waiting as the bot allows."""


class NotAllowedHere(UserFacingError):
    """The command cannot be used in this place (a DM, say)."""


class UpstreamUnavailable(UserFacingError):
    """EggAPI cannot take work right now; nothing was charged."""


class ServiceMisconfigured(UserFacingError):
    """The operator must fix something (API key, balance); members are told politely."""
