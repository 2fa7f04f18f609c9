"""Domain errors that carry a message safe to show to a member.

Services raise these; the command tree's error handler turns them into a polite ephemeral
reply. The text never contains upstream messages, stack traces or secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.i18n import texts


def plain_channel(channel_id: int) -> str:
    """A channel written without any chat platform's markup."""
    return f"channel {channel_id}"


class UserFacingError(Exception):
    """An error whose ``user_message`` may be shown to the member as it is.

    New errors name a catalogue text instead (``key`` and its ``params``, see ``bot.i18n``), which the
    error ladder renders in the reader's language; ``user_message`` is then the English text, for logs
    and for callers that have no locale.
    """

    def __init__(self, user_message: str | None = None, *, key: str | None = None, **params: object) -> None:
        if user_message is None:
            if key is None:
                raise TypeError("a UserFacingError needs a message or a catalogue key")
            user_message = texts(None)(key, **params)
        super().__init__(user_message)
        self.user_message = user_message
        self.key = key
        self.params = params

    def text(self, locale: str | None) -> str:
        """The message in ``locale``'s language when it names a catalogue text, else as given."""
        return texts(locale)(self.key, **self.params) if self.key else self.user_message

    def render(self, moment: Callable[[datetime], str], channel: Callable[[int], str] = plain_channel) -> str:
        """The message with any point in time written by ``moment`` and any channel by ``channel``.

        The core knows no Discord markup: ``user_message`` writes times and channels plainly, and the
        Discord side passes renderers that show times in each reader's own timezone and channels as
        links.
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


class PolicyRefusal(UserFacingError):
    """A server's own rules (prompt policy, blocked member) refuse the request; nothing was recorded."""

    rule = "the server's rules"  # which rule, for the moderators' mod-log (never shown to the member)


class ChannelNotAllowed(PolicyRefusal):
    """The server runs /imagine only in some channels, and this is not one of them."""

    rule = "a channel where /imagine is not allowed"

    def __init__(self, allowed: tuple[int, ...]) -> None:
        self.allowed = allowed
        super().__init__(self.render(lambda moment: moment.isoformat()))

    def render(self, moment: Callable[[datetime], str], channel: Callable[[int], str] = plain_channel) -> str:
        """Names the channels where images can be made, each as ``channel`` writes it."""
        where = ", ".join(channel(channel_id) for channel_id in self.allowed)
        return f"On this server, images can be made only in {where}. Try there. Nothing was charged."
