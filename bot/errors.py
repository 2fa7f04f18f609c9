"""Domain errors that carry a message safe to show to a member.

Services raise these; the command tree's error handler turns them into a polite ephemeral
reply. The text never contains upstream messages, stack traces or secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.i18n import Channels, Markup, Text, Texts, TimeStyle, texts


class _Writers:
    """A ``Markup`` from two functions (for ``UserFacingError.render``)."""

    def __init__(self, moment: Callable[[datetime], str], channel: Callable[[int], str] | None) -> None:
        self._moment = moment
        self._channel = channel

    def moment(self, at: datetime, style: TimeStyle) -> str:
        return self._moment(at)

    def channel(self, channel_id: int) -> str:
        return self._channel(channel_id) if self._channel is not None else f"channel {channel_id}"


class UserFacingError(Exception):
    """An error whose words may be shown to the member as they are.

    It names a catalogue text (``key`` and its ``params``, see ``bot.i18n``), which the error ladder
    renders in the reader's language, times and channels written by the chat side; ``user_message`` is
    the English text, written plainly, for logs and for callers that have no reader. It is made from a key
    and its parameters, or from a ``Text``; one made from a ready sentence (``InvalidRequest("…")``) shows
    that sentence to everyone.
    """

    def __init__(self, user_message: str | Text | None = None, *, key: str | None = None, **params: object) -> None:
        if isinstance(user_message, Text):
            key, params, user_message = user_message.key, dict(user_message.params), None
        if user_message is None:
            if key is None:
                raise TypeError("a UserFacingError needs a message or a catalogue key")
            user_message = texts(None)(key, **params)
        super().__init__(user_message)
        self.user_message = user_message
        self.key = key
        self.params = params

    def text(self, locale: str | None, markup: Markup | None = None) -> str:
        """The message in ``locale``'s language when it names a catalogue text, else as given."""
        return texts(locale, markup)(self.key, **self.params) if self.key else self.user_message

    def render(self, moment: Callable[[datetime], str], channel: Callable[[int], str] | None = None) -> str:
        """The English message with any point in time written by ``moment`` and any channel by ``channel``."""
        return Texts(None, _Writers(moment, channel))(self.key, **self.params) if self.key else self.user_message


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

    # Which rule, for the moderators' mod-log (never shown to the member): a Text, or words already written.
    rule: Text | str = Text("modlog.rule.server_rules")


class ChannelNotAllowed(PolicyRefusal):
    """The server runs /imagine only in some channels, and this is not one of them."""

    rule = Text("modlog.rule.channel")

    def __init__(self, allowed: tuple[int, ...]) -> None:
        self.allowed = allowed
        super().__init__(key="errors.channel_not_allowed", channels=Channels(tuple(allowed)))
