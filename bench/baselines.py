"""The simple strategies a bot author would otherwise pick, for the side-by-side figures (bench only).

``python -m bench`` measures the bot as it ships ("ours": reads of EggAPI's task list, one request
budget, status edits on phase changes only) and, under the same load, the same bot rewired here to
what simple bots do: ask EggAPI for each task on its own every N seconds (AI_Horde_Discord polls
every 5 s) and edit the status message at every poll, with no request budget and no edit budget
(``BASELINE_ENV``). Everything else (submits, downloads, posting, the fakes) is the same code.

The rewiring reaches inside the tracker on purpose and only here: no setting of the bot turns its
list reads off.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from bot.app.client import EggBot
from bot.clock import utcnow
from bot.lifecycle import TaskRecord

STRATEGIES = ("ours", "per-task-5s", "per-task-1s")
BASELINE_ENV = {
    "EGGBOT_EGGAPI_RPS": "100000",  # a simple bot has no request budget
    "EGGBOT_STATUS_EDIT_INTERVAL": "0.01",  # nor an edit budget per channel
}


def interval_of(strategy: str) -> float | None:
    """The per-task poll interval of a baseline strategy (``per-task-5s`` -> 5.0); None for ours."""
    if strategy == "ours":
        return None
    if strategy.startswith("per-task-") and strategy.endswith("s"):
        return float(strategy[len("per-task-") : -1])
    raise ValueError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")


class EverySeconds:
    """A poll planner that asks every ``seconds``, from the submit on, whatever the task (duck-types the bot's)."""

    def __init__(self, seconds: float) -> None:
        self.first = seconds
        self._seconds = seconds

    def first_delay(self, task: TaskRecord) -> float:
        return self._seconds

    def next_delay(self, task: TaskRecord) -> float:
        return self._seconds

    def observe(self, task: TaskRecord, created_at: datetime | None, completed_at: datetime | None) -> None:
        """Learns nothing."""

    @staticmethod
    def running_for(task: TaskRecord) -> float:
        return (utcnow() - (task.submitted_at or task.created_at)).total_seconds()

    def past_deadline(self, task: TaskRecord) -> bool:
        return False

    def until_next_phase(self, task: TaskRecord) -> float | None:
        return None


def use_strategy(bot: EggBot, strategy: str) -> None:
    """Rewire a built (not yet started) bot to ``strategy``; ``ours`` leaves it as it ships."""
    seconds = interval_of(strategy)
    if seconds is None:
        return
    following: Any = bot.tracker._following  # the benchmark's one reach inside the tracker
    sweeper: Any = following.sweeper
    sweeper.start = lambda: None  # no reads of the task list...
    sweeper._distrust_until = math.inf  # ...so every task is polled on its own
    following._timing = EverySeconds(seconds)
    board: Any = bot.tracker.board
    show = board.show

    def every_poll(task: TaskRecord, phase: Any, **options: Any) -> None:
        show(task, phase, **{**options, "force": True})  # the status message is edited at every poll

    board.show = every_poll
