"""One request budget for everything the bot asks of EggAPI, so the bot never causes its rate limit.

EggAPI limits requests per API key and per IP (the oldest docs say 100 a second per IP; the newest
give no number) and answers 429 past it. Submits, status polls, task lists, image downloads and
usage summaries all count, so they share one budget: at most ``rate`` requests in any one-second
window (in any ``1 / rate`` seconds below one a second). Waiting requests go in priority order
(``Priority``, ``TIERS``): members' submits and the status reads that are due first, in the order
they came (a task-list page follows a hundred jobs), then downloads, jobs polled one by one on
their own schedule, and the background work (usage summaries, reconciling). A request that waits
is never lost, only later.

EggAPI's own word wins: a 429 halves the rate (down to ``floor``) and pauses every request until
its ``Retry-After`` (or a backoff) has passed; a 503 pauses without slowing down. The rate climbs
back by a tenth of the configured one every ``recovery`` seconds without a 429. While EggAPI is
busy (from a 429 or 503 until a request sent after it succeeds), ``busy`` is true and listeners
hear each change, so members can be told why they wait.

Several bot processes on one database share ``total`` (``bot.lifecycle.processes``): each budget is
set to its process's share (``set_share``; ``configured`` is the share), held while a joining process
waits for the others to make room (``hold``, ``release``), and told of the 429s and 503s other
processes heard (``follow``); its own are reported to ``add_penalty_listener``'s listeners. Alone,
none of this is called and the budget is the whole rate, as it always was.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.rates import RateWindow

__all__ = ["Priority", "RequestBudget"]

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0  # pause after a 429/503 without Retry-After, doubled while they keep coming
BACKOFF_CAP = 30.0
RECOVERY_SHARE = 0.1  # of the configured rate, won back every ``recovery`` seconds without a 429


class Priority(enum.IntEnum):
    """What a request is for; ``TIERS`` says which waiting ones go first."""

    SUBMIT = 0  # a member is waiting for their job to start
    POLL = 1  # a page of the task list (it follows a hundred jobs), or a job a webhook named or the list missed
    DOWNLOAD = 2  # a finished job's images
    FALLBACK = 3  # one job polled on its own schedule, where the list cannot vouch for it
    BACKGROUND = 4  # usage summaries, reconciling unconfirmed submits


# Submits and due status reads share the first tier, first come first served: a wave of a hundred
# /imagine at once must not hold back the one list read that finds everyone's finished jobs.
TIERS = {
    Priority.SUBMIT: 0,
    Priority.POLL: 0,
    Priority.DOWNLOAD: 1,
    Priority.FALLBACK: 2,
    Priority.BACKGROUND: 3,
}


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class RequestBudget:
    """The shared budget: ``await budget.acquire(priority)`` before each request, then report the answer."""

    def __init__(
        self,
        rate: float,
        *,
        floor: float | None = None,
        recovery: float = 10.0,
        backoff: float = BACKOFF_FIRST,
        backoff_cap: float = BACKOFF_CAP,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``rate`` requests a second at most (never below ``floor`` after 429s); ``clock`` for unit tests.

        A 429 or 503 without ``Retry-After`` pauses every request ``backoff`` seconds, doubled while
        they keep coming, up to ``backoff_cap``.
        """
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError("the rate must be a positive number")
        self.configured = rate
        self.total = rate  # for every process on the database together; ``configured`` is this one's share
        self._floor_total = min(rate, floor if floor is not None else max(0.5, rate / 8))
        self._floor = self._floor_total
        self._recovery = recovery
        self._clock = clock
        self._current = rate
        self._window = RateWindow.per_second(rate)
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._paused_until = 0.0
        self._backoff_first, self._backoff_cap = backoff, backoff_cap
        self._backoff = backoff
        self._last_trouble: float | None = None
        self._last_slowdown = -math.inf  # when a 429 last halved the rate
        self._recovered_to = 0.0  # the rate was last won back (or halved) at this time
        self._busy = False
        self._listeners: list[Callable[[bool], None]] = []
        self._penalty_listeners: list[Callable[[float, bool], None]] = []
        self._held = False  # no grant at all until ``release`` (a process joining others)
        self.granted = 0  # requests let through so far
        self.slowdowns = 0  # 429s that halved the rate

    # -- what callers see -----------------------------------------------------------------------

    @property
    def rate(self) -> float:
        """The requests per second allowed now (the configured rate, or less after 429s)."""
        self._recover(self._now())
        return self._current

    @property
    def busy(self) -> bool:
        """Whether EggAPI said it is overloaded (429 or 503) and has not answered normally since."""
        return self._busy

    @property
    def waiting(self) -> int:
        """Requests waiting for their turn."""
        return sum(1 for w in self._waiters if not w.future.done())

    def add_listener(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(busy)`` whenever ``busy`` changes (synchronously; it must not raise)."""
        self._listeners.append(listener)

    def add_penalty_listener(self, listener: Callable[[float, bool], None]) -> None:
        """Call ``listener(pause, slowed)`` after each 429/503 this budget was told of (``penalise``), with the
        pause it began and whether it halved the rate: how other processes hear of it (synchronously)."""
        self._penalty_listeners.append(listener)

    # -- shared by several processes (``bot.lifecycle.processes``) --------------------------------

    def set_share(self, share: float) -> None:
        """Allow this process ``share`` requests a second of ``total`` (the others have the rest).

        A rate slowed by 429s stays slowed in proportion, and recovers towards the share.
        """
        if not share > 0 or not math.isfinite(share):
            raise ValueError("the share must be a positive number")
        if share == self.configured:
            return
        now = self._now()
        self._recover(now)
        scale = share / self.configured
        self.configured = share
        self._floor = min(share, self._floor_total * share / self.total)
        self._set_rate(min(share, max(self._floor, self._current * scale)))
        self._arm(now)

    def hold(self) -> None:
        """Grant nothing until ``release``: waiting requests stay in line."""
        self._held = True

    def release(self, pause: float = 0.0) -> None:
        """Grant again, after ``pause`` seconds from now."""
        now = self._now()
        self._held = False
        self._paused_until = max(self._paused_until, now + pause)
        self._arm(now)

    @property
    def paused_for(self) -> float:
        """Seconds until requests may go again after a 429/503 here or elsewhere (0: not paused)."""
        return max(0.0, self._paused_until - self._now())

    @property
    def held(self) -> bool:
        """Whether ``hold`` stops every grant now."""
        return self._held

    def follow(self, pause: float, *, slow_down: bool = False, same_within: float = 0.0) -> bool:
        """Another process was told 429 or 503: pause ``pause`` seconds, and on a 429 halve the rate, unless
        it was halved less than ``same_within`` seconds ago (the same overload). Whether it halved."""
        now = self._now()
        self._paused_until = max(self._paused_until, now + pause)
        halve = slow_down and now - self._last_slowdown >= same_within
        if halve:
            self._last_slowdown = self._recovered_to = now
            self._set_rate(max(self._floor, self._current / 2))
        self._arm(now)
        return halve

    async def acquire(self, priority: Priority = Priority.POLL) -> float:
        """Wait for this request's turn: after every waiting request of a higher priority. When it was granted."""
        now = self._now()
        if not self._waiters and now >= self._paused_until and self._allowed(now) <= now:
            self._grant(now)
            return now
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, _Waiter(TIERS[priority], next(self._seq), future))
        self._arm(now)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # granted as it was cancelled: pass the turn on
                self._arm(self._now())
            raise
        return self._now()

    def penalise(self, retry_after: float | None, *, slow_down: bool, sent_at: float | None = None) -> None:
        """EggAPI answered 429 (``slow_down``) or 503 to a request granted at ``sent_at``: pause every request,
        and on a 429 halve the rate, once per overload (429s to requests sent before the last halving
        are the same overload)."""
        now = self._now()
        if retry_after is not None and retry_after >= 0:
            pause = retry_after
        else:
            pause, self._backoff = self._backoff, min(self._backoff_cap, self._backoff * 2)
        self._paused_until = max(self._paused_until, now + pause)
        self._last_trouble = now
        slowed = slow_down and (sent_at is None or sent_at >= self._last_slowdown)
        if slowed:
            self.slowdowns += 1
            self._last_slowdown = self._recovered_to = now
            slower = max(self._floor, self._current / 2)
            if slower < self._current:
                log.warning("EggAPI rate limit hit: the bot's request budget drops to %.2f/s", slower)
            self._set_rate(slower)
        self._set_busy(True)
        self._arm(now)
        for listener in list(self._penalty_listeners):
            try:
                listener(self._paused_until - now, slowed)
            except Exception:
                log.exception("a listener of EggAPI's 429s failed")

    def succeeded(self, sent_at: float | None = None) -> None:
        """EggAPI answered a request granted at ``sent_at`` normally: the backoff resets, and if it was
        sent after the last 429/503 (answers already on their way then say nothing new), a busy spell ends."""
        self._backoff = self._backoff_first
        if self._busy and (sent_at is None or self._last_trouble is None or sent_at >= self._last_trouble):
            self._set_busy(False)

    # -- inside -----------------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _allowed(self, now: float) -> float:
        self._recover(now)
        if self._held:
            return math.inf
        return max(self._paused_until, self._window.next_at(now))

    def _recover(self, now: float) -> None:
        """Win back a tenth of the configured rate per ``recovery`` seconds since the last 429."""
        if self._current >= self.configured or now - self._recovered_to < self._recovery:
            return
        steps = math.floor((now - self._recovered_to) / self._recovery)
        self._recovered_to += steps * self._recovery
        self._set_rate(min(self.configured, self._current + steps * RECOVERY_SHARE * self.configured))

    def _set_rate(self, rate: float) -> None:
        self._current = rate
        self._window.set_rate(rate)

    def _grant(self, now: float) -> None:
        self._window.grant(now)
        self.granted += 1

    def _arm(self, now: float) -> None:
        """Hand out what is allowed now, in priority order; wake up again when the next grant is due."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiters:
            head = self._waiters[0]
            if head.future.done():  # cancelled while waiting
                heapq.heappop(self._waiters)
                continue
            at = self._allowed(now)
            if at == math.inf:  # held: ``release`` arms again
                return
            if at > now:
                self._timer = asyncio.get_running_loop().call_later(at - now, self._wake)
                return
            heapq.heappop(self._waiters)
            self._grant(now)
            head.future.set_result(None)

    def _wake(self) -> None:
        self._timer = None
        self._arm(self._now())

    def _set_busy(self, busy: bool) -> None:
        if busy == self._busy:
            return
        self._busy = busy
        log.log(
            logging.WARNING if busy else logging.INFO,
            "EggAPI is %s",
            "busy (429/503): requests wait and members are told" if busy else "answering normally again",
        )
        for listener in list(self._listeners):
            try:
                listener(busy)
            except Exception:
                log.exception("a listener of EggAPI's busy state failed")
