"""When to poll a running task: at the moments tasks like it have finished before, then backing off.

EggAPI's tasks of one kind tend to take similar times (the docs' examples: 10-12 s), but a
running average is a poor guide when they do not: after a mix of 2 s and 12 s tasks it points
at 7 s, when nothing finishes. So the tracker remembers the last durations of each kind of task
and polls just after each of them (at most every ``step`` seconds), which finds a task that
behaves like the others within a fraction of a second in as many requests as there are distinct
durations. Past what most tasks took (``HORIZON``), polling backs off towards ``ceiling``.
Until enough tasks have finished to say otherwise, the typical duration EggAPI documents is
one of the moments, and polling does not back off before it.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Sequence
from datetime import datetime

from bot.clock import utcnow
from bot.lifecycle.model import TaskRecord

HISTORY = 24  # durations remembered per kind of task
MARGIN = 0.25  # seconds after a remembered duration to poll, so the poll is not a hair early
HORIZON = 0.9  # beyond the duration this share of tasks stayed within, back off
GAP = 3.0  # seconds at most between two polls from the typical duration on, within the horizon
TYPICAL = 10.0  # seconds; EggAPI's examples take 10-12 s
STEP = 1.0  # seconds at least between two polls of a task
WEBHOOK_FACTOR = 3.0  # polls this much further apart while webhooks tell the bot first


class DurationHistory:
    """The recent durations of finished tasks, per kind of task (images, resolution, edit or not)."""

    def __init__(self) -> None:
        self._overall: deque[float] = deque(maxlen=HISTORY)
        self._by_shape: dict[tuple[object, ...], deque[float]] = {}

    def observe(self, shape: tuple[object, ...], seconds: float) -> None:
        """Remember how long one finished task took (nonsense is ignored)."""
        if not 0 < seconds < math.inf:
            return
        self._overall.append(seconds)
        self._by_shape.setdefault(shape, deque(maxlen=HISTORY)).append(seconds)

    def durations(self, shape: tuple[object, ...]) -> list[float]:
        """What tasks of this shape took, sorted; all tasks' when none of this shape finished yet."""
        return sorted(self._by_shape.get(shape) or self._overall)


def _moments(durations: Sequence[float], step: float) -> tuple[list[float], float]:
    """Poll moments and the last one within the horizon.

    Each remembered duration plus the margin, the typical one too while fewer than ``HISTORY``
    are remembered, and one ``step`` before the earliest, as a task may well be a little faster
    than any seen so far.
    """
    moments = sorted(duration + MARGIN for duration in durations)
    # Nine in ten, and never the single longest: with few durations known, one stuck task must
    # not keep polling dense for as long as it took.
    within = min(math.ceil(HORIZON * len(moments)), len(moments) - 1)
    horizon = moments[within - 1] if within > 0 else 0.0  # one duration alone says little: the typical rules
    if len(moments) < HISTORY:
        insort(moments, TYPICAL + MARGIN)
        horizon = max(horizon, TYPICAL + MARGIN)
    if moments[0] - step > 0:
        moments.insert(0, moments[0] - step)
    return moments, horizon


def first_poll_delay(durations: Sequence[float], *, first: float, step: float) -> float:
    """Seconds from the submit to the first poll: ``first``, or a moment a task finished at soon after it."""
    moments, _ = _moments(durations, step)
    near = [m for m in moments if first <= m <= first + step]
    return near[0] if near else first


def next_poll_delay(elapsed: float, durations: Sequence[float], *, step: float, ceiling: float) -> float:
    """Seconds until the next poll of a task running for ``elapsed`` seconds.

    The next moment a task of its kind finished at (never sooner than ``step``, and from the
    typical duration on never later than ``GAP``); past the horizon, half of how overdue it is
    (never less than ``step``). Never above ``ceiling``.
    """
    moments, horizon = _moments(durations, step)
    upcoming = bisect_right(moments, elapsed)
    if upcoming < len(moments) and moments[upcoming] <= horizon:
        delay = max(step, moments[upcoming] - elapsed)
        return min(ceiling, delay if elapsed < TYPICAL else min(delay, GAP))
    return min(ceiling, max(step, (elapsed - horizon) / 2))


def task_shape(task: TaskRecord) -> tuple[object, ...]:
    """What makes tasks take different times: how many images, how large, edit or not."""
    return (task.count, task.resolution, task.mode)


class PollPlanner:
    """When to poll each running task, learnt from the tasks that finished before it."""

    def __init__(
        self, *, first: float, ceiling: float, deadline: float, webhooks: bool, stale_after: float = math.inf
    ) -> None:
        self._first = first
        self._ceiling = ceiling
        self._deadline = deadline
        self._stale_after = stale_after
        self._step = min(STEP, ceiling)
        self._slower = WEBHOOK_FACTOR if webhooks else 1.0  # webhooks lead; polling is the fallback
        self._history = DurationHistory()

    def observe(self, task: TaskRecord, created_at: datetime | None, completed_at: datetime | None) -> None:
        """Remember how long a finished task took upstream (EggAPI's own timestamps)."""
        if created_at is not None and completed_at is not None:
            self._history.observe(task_shape(task), (completed_at - created_at).total_seconds())

    @property
    def first(self) -> float:
        """Seconds before the first poll of a task nothing is known of."""
        return self._first

    @staticmethod
    def running_for(task: TaskRecord) -> float:
        """Seconds since the task was submitted."""
        return (utcnow() - (task.submitted_at or task.created_at)).total_seconds()

    def past_deadline(self, task: TaskRecord) -> bool:
        """Whether the task has run longer than the bot's deadline (it is still followed, more slowly)."""
        return self.running_for(task) > self._deadline

    def until_next_phase(self, task: TaskRecord) -> float | None:
        """Seconds until the task is shown differently for its age alone (past the deadline, stale); None after."""
        running = self.running_for(task)
        later = [moment - running for moment in (self._deadline, self._stale_after) if moment >= running]
        return min(later) + MARGIN if later and math.isfinite(min(later)) else None

    def first_delay(self, task: TaskRecord) -> float:
        """Seconds from acceptance to the first poll."""
        return first_poll_delay(self._history.durations(task_shape(task)), first=self._first, step=self._step)

    def next_delay(self, task: TaskRecord) -> float:
        """Seconds until the next poll; slower past the deadline and when webhooks are on."""
        if self.past_deadline(task):
            return self._ceiling * 4 * self._slower
        durations = self._history.durations(task_shape(task))
        return self._slower * next_poll_delay(self.running_for(task), durations, step=self._step, ceiling=self._ceiling)
