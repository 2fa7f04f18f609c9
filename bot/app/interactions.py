"""The interactions whose responses are jobs' status messages, while their tokens are valid.

A status message is the interaction's own response, so it is edited through the interaction
token, the documented way, for as long as the token lasts (15 minutes); after that, or after a
restart, the publisher falls back to editing it as a channel message with the bot's token.
"""

from __future__ import annotations

import time
import weakref

import discord
from discord.ext import commands

TOKEN_LIFETIME = 14 * 60.0  # seconds: Discord's tokens last 15 minutes; a minute to spare

_BY_BOT: weakref.WeakKeyDictionary[commands.Bot | commands.AutoShardedBot, Answers] = weakref.WeakKeyDictionary()


class Answers:
    """Task id -> the interaction that answered it, while its token is usable."""

    def __init__(self) -> None:
        self._by_task: dict[int, tuple[discord.Interaction, float]] = {}

    def remember(self, task_id: int, interaction: discord.Interaction) -> None:
        """The job's status message is this interaction's response."""
        now = time.monotonic()
        self._by_task.pop(task_id, None)  # re-added at the end: the dict stays in time order
        while self._by_task:  # oldest first: stop at the first fresh one
            oldest, (_, at) = next(iter(self._by_task.items()))
            if now - at < TOKEN_LIFETIME:
                break
            del self._by_task[oldest]
        self._by_task[task_id] = (interaction, now)

    def get(self, task_id: int) -> discord.Interaction | None:
        """The interaction, if its token is still good for an edit."""
        found = self._by_task.get(task_id)
        if found is None or time.monotonic() - found[1] >= TOKEN_LIFETIME:
            return None
        return found[0]

    def forget(self, task_id: int) -> None:
        """No more edits through this task's interaction."""
        self._by_task.pop(task_id, None)


def answers_of(bot: commands.Bot | commands.AutoShardedBot) -> Answers:
    """The bot's registry (one per bot object)."""
    found = _BY_BOT.get(bot)
    if found is None:
        found = _BY_BOT[bot] = Answers()
    return found
