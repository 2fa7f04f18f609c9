"""At most so many events in any window of so many seconds: the arithmetic of every budget in the bot.

A sliding-window log rather than a token bucket, so the promise is exact: no window of ``window``
seconds ever holds more than ``limit`` grants, wherever it starts. The EggAPI request budget
(``bot.eggapi``) and the status messages' edits per channel (``bot.lifecycle.status_board``) count
with it. No waiting here: callers ask when the next grant is allowed and wait themselves.
"""

from __future__ import annotations

import math
from collections import deque


class RateWindow:
    """At most ``limit`` grants in any ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self._grants: deque[float] = deque()
        self.limit, self.window = 1, 1.0
        self.set(limit, window)

    @classmethod
    def per_second(cls, rate: float) -> RateWindow:
        """``rate`` grants a second: in windows of a second, or of ``1 / rate`` seconds below one a second."""
        window = RateWindow(1, 1.0)
        window.set_rate(rate)
        return window

    @property
    def rate(self) -> float:
        """Grants a second, on average over a window."""
        return self.limit / self.window

    def set(self, limit: int, window: float) -> None:
        """Change the limit; the grants already made still count."""
        if limit < 1 or not window > 0 or not math.isfinite(window):
            raise ValueError("a rate window needs a limit of at least 1 and a positive window")
        self.limit, self.window = limit, window

    def set_rate(self, rate: float) -> None:
        """Change the limit to ``rate`` grants a second."""
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError("the rate must be a positive number")
        window = max(1.0, 1.0 / rate)
        self.set(max(1, math.floor(rate * window + 1e-9)), window)

    def next_at(self, now: float) -> float:
        """The earliest time a grant is allowed (``now`` when one is allowed now)."""
        while self._grants and self._grants[0] <= now - self.window:
            self._grants.popleft()
        if len(self._grants) < self.limit:
            return now
        return self._grants[-self.limit] + self.window

    def grant(self, now: float) -> None:
        """Record a grant at ``now`` (call only when ``next_at(now) <= now``)."""
        self._grants.append(now)
        while len(self._grants) > self.limit:
            self._grants.popleft()
