"""Domain errors that carry a message safe to show to a member.

Services raise these; the command tree's error handler turns them into a polite ephemeral
reply. The text never contains upstream messages, stack traces or secrets.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """An error whose ``user_message`` may be shown to the member as it is."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


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
