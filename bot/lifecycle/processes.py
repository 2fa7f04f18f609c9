"""The bot processes on one database share EggAPI's request budget, instead of each taking all of it.

``EGGBOT_EGGAPI_RPS`` is for every process together. Each process is a row in the database's
``processes`` table: it registers as it starts (before its first EggAPI request), renews its
heartbeat at each *look* (every ``EGGBOT_LEASE_CHECK_INTERVAL``, the leases' pace), and deletes its
row when it stops cleanly. A process is live while its heartbeat is younger than
``EGGBOT_LEASE_TTL`` (the database's clock, as for leases). At each look a process sets its
``RequestBudget`` to its *share*, ``EGGBOT_EGGAPI_RPS / live processes``. Nothing of this is on a
request's path: a request waits only for its own process's budget, in memory.

How strict it is:

- Joining. A process registers with a number (the ``processes`` generation) and writes, at each
  look, the newest number it has applied its share for (``seen``). A newcomer computes its share
  counting itself, but grants nothing until every other live process has seen its number (they made
  room), and then one budget window more (a second; longer below one request a second), so the
  others' requests granted at their old share have left every window it counts in. So the total
  stays within ``EGGBOT_EGGAPI_RPS`` while processes join, at the cost of a start that waits up to
  one look of the others and a second; a process that died without stopping cleanly still counts
  until its heartbeat lapses (``EGGBOT_LEASE_TTL``), delaying a newcomer of another seat that long
  (a restart with the same ``EGGBOT_SHARD_IDS`` replaces its seat's earlier process at once).
- Leaving. A process deregisters after its last request; a killed one stops requesting at once. The
  others take the freed share at their next look. Either way the total only falls.
- A process that misses heartbeats. One whose heartbeat lapsed (frozen, or cut off from the
  database) re-registers and waits for the others again, as a newcomer. While it cannot reach the
  database for longer than the lease TTL and it last saw other processes, it grants nothing. One
  thing stays open: between a look's commit and its share being applied the process must not
  freeze for a second (the share is applied right after the commit, on the same event loop).
- 429 and 503. EggAPI's word reaches all: the process told it records the pause (Retry-After, or its
  backoff) and, on a 429, a slowdown, at its next look (woken at once, not a whole interval later);
  the others pause until then and halve their rate at their next look, unless they halved it less
  than a look and a second before (the same overload, told to several processes). Until they look,
  others may send for up to one look interval during the pause.

One process alone (SQLite's default) behaves as before: its share is the whole rate, it never
waits to join, and its only traffic here is the heartbeat at each look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from bot.eggapi import RequestBudget
from bot.storage import Storage, Transaction

log = logging.getLogger(__name__)

GENERATION = "processes"  # the registrations' counter, in the ``generations`` table


@dataclass(frozen=True, slots=True)
class Look:
    """What one look found: the live processes, which registration is the newest, the shared pause."""

    live: list[tuple[str, int]]  # (owner, the newest registration it has seen)
    newest: int
    paused_for: float
    slowdowns: int
    registered: int | None  # when this look registered it (again): the registration the others must have seen


class ProcessRegistry:
    """This process's row among the processes on the database, and its share of the request budget."""

    def __init__(self, storage: Storage, owner: str, budget: RequestBudget, *, ttl: float, interval: float) -> None:
        self._storage = storage
        self.owner = owner
        self.seat = owner.split("/", 1)[0]
        self._budget = budget
        self._ttl, self._interval = ttl, interval
        self._awaited = 0  # the registration the others must have seen before this process sends
        self._joining = False
        self._slowdowns_seen = 0
        self._pending_pause: float | None = None
        self._pending_slowdowns = 0
        self._others_seen = False
        self.live = 1  # processes counted at the last look, this one included
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        budget.add_penalty_listener(self._penalised)

    @property
    def share(self) -> float:
        """The requests per second this process may send (before any 429 slows it)."""
        return self._budget.configured

    @property
    def joining(self) -> bool:
        """Whether this process still waits for the others to make room for it (it grants nothing)."""
        return self._joining

    async def start(self) -> None:
        """Register, take this process's share, and keep looking until ``close``."""
        self._apply(await self._storage.transaction(self._register))
        self._loop = asyncio.create_task(self._run(), name="eggbot-processes")

    async def close(self) -> None:
        """Stop looking and deregister (call after this process's last EggAPI request)."""
        self._stopping.set()
        if self._loop is not None:
            await asyncio.gather(self._loop, return_exceptions=True)
        try:
            await self._storage.transaction(lambda tx: tx.processes.deregister(self.owner))
        except Exception:  # its heartbeat lapses by itself; the others grow a little later
            log.exception("could not deregister this process")

    async def look(self) -> None:
        """One look: heartbeat, record what EggAPI told us, read the others; then apply the share."""
        pause, slowdowns = self._pending_pause, self._pending_slowdowns
        self._pending_pause, self._pending_slowdowns = None, 0
        try:
            found = await self._storage.transaction(lambda tx: self._look(tx, pause, slowdowns))
        except BaseException:
            self._restore(pause, slowdowns)
            raise
        self._apply(found, mine=slowdowns)

    # -- inside -----------------------------------------------------------------------------------

    def _register(self, tx: Transaction, *, again: bool = False) -> Look:
        number = tx.generations.bump(GENERATION)
        # At start it replaces its seat's earlier process; again (it lapsed), it replaces nobody.
        replaced = tx.processes.register(self.owner, self.seat, number, self._ttl, replace_seat=not again)
        paused_for, slowdowns = tx.processes.pause_state()
        # Others that counted the process it replaces have room for it already.
        wait_for = number if replaced is None else replaced
        return Look(tx.processes.live(self._ttl), number, paused_for, slowdowns, wait_for)

    def _look(self, tx: Transaction, pause: float | None, slowdowns: int) -> Look:
        newest = tx.generations.get(GENERATION)  # before the rows: every registration up to it is visible
        if pause is not None:
            tx.processes.record_pause(pause, slowdowns)
        if not tx.processes.heartbeat(self.owner, self._ttl, newest):
            return self._register(tx, again=True)  # lapsed (or forgotten): the others may have taken our share
        paused_for, total = tx.processes.pause_state()
        return Look(tx.processes.live(self._ttl), newest, paused_for, total, None)

    def _apply(self, found: Look, *, mine: int = 0) -> None:
        budget = self._budget
        others = [seen for owner, seen in found.live if owner != self.owner]
        self.live = len(others) + 1
        self._others_seen = bool(others)
        budget.set_share(budget.total / self.live)
        if found.registered is not None:
            if not self._awaited:
                log.info("registered as one of %d bot process(es): %.2f EggAPI requests/s", self.live, self.share)
            else:
                log.warning("this process's heartbeat had lapsed: registered again, waiting for the others")
            self._awaited, self._slowdowns_seen = found.registered, found.slowdowns
            if others:
                self._joining = True
                budget.hold()
        elif found.slowdowns > self._slowdowns_seen + mine:
            # 429s within a look and a second of this process's last halving are the same overload.
            if budget.follow(found.paused_for, slow_down=True, same_within=self._interval + 1.0):
                log.warning("another process was told to slow down: the request budget halves here too")
        if found.paused_for > 0:
            budget.follow(found.paused_for)
        self._slowdowns_seen = found.slowdowns
        if self._joining and all(seen >= self._awaited for seen in others):
            self._joining = False
            window = max(1.0, 1.0 / budget.rate)  # the others' grants at their old share age out
            budget.release(window)
            log.info("the other processes made room: EggAPI requests in %.1f s", window)

    def _penalised(self, pause: float, slowed: bool) -> None:
        self._pending_pause = max(self._pending_pause or 0.0, pause)
        self._pending_slowdowns += int(slowed)
        self._wake.set()

    def _restore(self, pause: float | None, slowdowns: int) -> None:
        """A look that failed: what it was to record waits for the next one."""
        if pause is not None:
            self._pending_pause = max(self._pending_pause or 0.0, pause)
        self._pending_slowdowns += slowdowns

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_ok, failing = loop.time(), False
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._next(), self._interval)
            if self._stopping.is_set():
                return
            self._wake.clear()
            try:
                await self.look()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: keep the share a lease's time, then stop asking
                if not failing:
                    log.warning("cannot look at the other processes (%s: %s); retrying", type(exc).__name__, exc)
                failing = True
                if self._others_seen and loop.time() - last_ok >= self._ttl and not self._budget.held:
                    log.warning("out of touch for a lease's time: no EggAPI request until the database is back")
                    self._budget.hold()
                    self._joining = True
                continue
            last_ok = loop.time()
            if failing:
                log.info("looking at the other processes again")
                failing = False

    async def _next(self) -> None:
        """Until the stop or a 429 to tell the others of."""
        stop = asyncio.ensure_future(self._stopping.wait())
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({stop, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            wake.cancel()
