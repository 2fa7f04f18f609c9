"""When to poll a running task next: early once, then closely around the expected finish, then backing off.

EggAPI tasks take roughly the same time (examples: 10-12 s), so polling at a fixed backoff
either wastes requests or finds the result seconds late. The tracker keeps a running estimate
of how long tasks take and polls every ``step`` seconds from just before it to a little after.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_STEPS = 4  # polls at ``step`` spacing after the estimate before backing off


@dataclass
class DurationEstimate:
    """An exponentially weighted average of how long EggAPI tasks take, in seconds."""

    value: float = 10.0
    weight: float = 0.3

    def observe(self, seconds: float) -> None:
        """Fold one finished task's duration into the estimate."""
        if seconds > 0:
            self.value += self.weight * (seconds - self.value)


class DurationEstimates:
    """One estimate per kind of task (images, resolution, edit or not), falling back to all tasks'."""

    def __init__(self, initial: float = 10.0) -> None:
        self._overall = DurationEstimate(initial)
        self._by_shape: dict[tuple[object, ...], DurationEstimate] = {}

    def observe(self, shape: tuple[object, ...], seconds: float) -> None:
        """Fold one finished task's duration into its shape's estimate and the overall one."""
        self._overall.observe(seconds)
        known = self._by_shape.get(shape)
        if known is None:
            self._by_shape[shape] = DurationEstimate(seconds if seconds > 0 else self._overall.value)
        else:
            known.observe(seconds)

    def expected(self, shape: tuple[object, ...]) -> float:
        """How long a task of this shape is expected to take."""
        known = self._by_shape.get(shape)
        return (known or self._overall).value


def next_poll_delay(elapsed: float, estimate: float, *, step: float, ceiling: float) -> float:
    """Seconds until the next poll of a task running for ``elapsed`` seconds.

    Before the window (``estimate - step``) jump towards it; inside it poll every ``step``;
    past it back off in proportion to how overdue the task is. Never above ``ceiling``.
    """
    start = estimate - step
    if elapsed < start:
        return min(ceiling, max(step, start - elapsed))
    if elapsed < estimate + WINDOW_STEPS * step:
        return min(ceiling, step)
    return min(ceiling, max(step, (elapsed - estimate) / 2))
