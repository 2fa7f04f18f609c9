"""Following every running task with a few reads of EggAPI's task list instead of one GET each.

``GET /v1/tasks`` returns full task objects, up to 100 a page, so one read a second finds every
task of a hundred that finished, where polling each one costs a request per task per poll. The
docs leave the list's order, its paging and its filters open, and other clients of the same key
(the dashboard, a second bot) add tasks to it. So nothing is assumed; each sweep checks as it reads
(``PageScan``):

* **Order.** Every item must be no newer than the ones read before it (equal times prove nothing
  either way and pass). An unseen item newer than one already read means the list is in no order
  this bot can rely on, or moved by more than a page between two reads (a burst of new tasks while
  the budget held the next page back): the sweep then vouches for nothing it did not find, which
  is polled on its own schedule unless the next sweep shows it; after ``STRIKES`` such sweeps in a
  row, sweeps pause (``DISTRUST_FIRST`` doubling to ``DISTRUST_CAP``) while every task is polled
  one by one.
* **Paging.** A task created between two page reads shifts the list by one, so the next page
  repeats an item: repeats are skipped by id. A task that vanished would shift it the other way
  and hide one item: that is caught by the next rule.
* **Where each task must be.** Reading stops once every followed task was found, or the pages have
  shown a task strictly older than every followed task not found yet, or the list ended, or after
  ``MAX_PAGES``. A followed task not found in pages that should have shown it is polled on its own
  at once (``Sweep.missing``); one deeper than ``MAX_PAGES`` reach (so many newer tasks, ours or
  others', that reading down to it would cost more than polling it) is polled on its own schedule
  from then on (``Sweep.beyond``).

``Sweeper`` runs the sweeps every ``interval`` seconds while anything is followed (never faster
than ``BUDGET_SHARE`` of the request budget allows), tells the tracker what changed upstream
(``on_news``), and which tasks the list cannot vouch for (``on_unvouched``: poll it now, or on its
own schedule), also when no sweep has shown a task for ``backstop`` seconds, or three sweeps when
the budget spaces them further apart or slows them (the list failing).

Webhooks name tasks that changed. ``find`` gathers the ones named within ``HINT_WAIT`` seconds
and, when there are several, reads the list for them at once (never more pages than GETs would
cost): a burst of twenty jobs finishing together is one request, not twenty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.eggapi import EggAPIClient, EggAPIError, EggTask, Priority
from bot.lifecycle._pages import MAX_PAGES, PER_PAGE, PageScan, Sweep
from bot.storage import DatabaseAway

log = logging.getLogger(__name__)

BUDGET_SHARE = 0.5  # sweeps take at most this share of the request budget; submits and downloads the rest
CLOCK_SKEW = timedelta(seconds=60)  # EggAPI's clock against ours, for a task whose upstream creation is unknown
STRIKES = 3  # sweeps in a row the list must fail before sweeps pause
DISTRUST_FIRST = 60.0  # seconds without sweeps after the list showed no order
DISTRUST_CAP = 600.0
HINT_WAIT = 0.01  # seconds webhooks' tasks are gathered for one read of the list

News = Callable[[int, EggTask], None]
Unvouched = Callable[[int, bool], None]
"""Told a followed task's id, and whether to poll it at once (True) or on its own schedule (False)."""


@dataclass(slots=True)
class _Followed:
    task_id: int
    egg_id: str
    created: datetime  # EggAPI's creation time once known, else a time before it
    status: str  # the upstream status the tracker knows
    since: float  # loop time it was followed from
    seen_at: float | None = None  # loop time of the last sweep that showed it
    last: EggTask | None = None
    deep: bool = False  # beyond what a sweep reads: polled on its own schedule
    told: bool = False  # the tracker was told the list cannot vouch for it (until a sweep shows it again)


@dataclass(slots=True)
class _Stats:
    sweeps: int = 0
    lookups: int = 0  # reads of the list for several tasks webhooks named
    pages: int = 0
    failures: int = 0
    distrusted: int = 0
    last_pages: int = 0
    fallbacks: dict[str, int] = field(default_factory=lambda: {"missing": 0, "beyond": 0, "unvouched": 0})


class Sweeper:
    """Reads EggAPI's task list every ``interval`` seconds while tasks are followed; see the module docstring."""

    def __init__(
        self,
        client: EggAPIClient,
        *,
        interval: float,
        backstop: float,
        on_news: News,
        on_unvouched: Unvouched,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self._client = client
        self._interval = interval
        self._backstop = max(backstop, 2 * interval)
        self._on_news = on_news
        self._on_unvouched = on_unvouched
        self._max_pages = max_pages
        self._followed: dict[int, _Followed] = {}
        self._by_egg: dict[str, int] = {}
        self._work = asyncio.Event()
        self._stop = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._distrust_until = 0.0
        self._distrust_for = DISTRUST_FIRST
        self._strikes = 0  # sweeps in a row that could not vouch for what they did not show
        self._last_gap = interval
        self._last_took = 0.0
        self._asked: dict[str, list[asyncio.Future[EggTask | None]]] = {}  # webhooks' tasks, gathered
        self._asking: asyncio.TimerHandle | None = None
        self._lookups: set[asyncio.Task[None]] = set()
        self.stats = _Stats()

    # -- the registry --------------------------------------------------------------------------

    def follow(self, task_id: int, egg_id: str, created: datetime, *, exact: bool, status: str) -> None:
        """Follow a running task; ``created`` is EggAPI's creation time when ``exact``, else the submit time."""
        if task_id in self._followed:
            return
        at = created if exact else created - CLOCK_SKEW
        self._followed[task_id] = _Followed(task_id, egg_id, at, status, self._now())
        self._by_egg[egg_id] = task_id
        self._work.set()

    def unfollow(self, task_id: int) -> None:
        """Stop following a task (it finished, or stopped running)."""
        entry = self._followed.pop(task_id, None)
        if entry is not None:
            self._by_egg.pop(entry.egg_id, None)

    def saw(self, task_id: int, egg: EggTask) -> None:
        """The tracker learnt the task's upstream state another way (its own GET): no news twice."""
        entry = self._followed.get(task_id)
        if entry is not None:
            entry.status = egg.status

    def covers(self, task_id: int) -> bool:
        """Whether a trusted sweep showed the task lately (then no GET is needed)."""
        entry = self._followed.get(task_id)
        now = self._now()
        return (
            entry is not None
            and entry.seen_at is not None
            and now >= self._distrust_until
            and now - entry.seen_at <= self._patience()
        )

    def _patience(self) -> float:
        """Seconds a task may go unseen by sweeps: ``backstop``, or three sweeps when the budget spaces them out."""
        return max(self._backstop, 3 * max(self._last_gap, self._last_took))

    def last(self, task_id: int) -> EggTask | None:
        """The task as the last sweep showed it."""
        entry = self._followed.get(task_id)
        return entry.last if entry is not None else None

    @property
    def following(self) -> int:
        """How many tasks are followed."""
        return len(self._followed)

    @property
    def trusted(self) -> bool:
        """Whether sweeps run (they pause for a while after the list showed no order)."""
        return self._now() >= self._distrust_until

    # -- the loop --------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """Whether the sweep loop runs."""
        return self._loop_task is not None and not self._loop_task.done()

    def start(self) -> None:
        """Start sweeping (it idles while nothing is followed)."""
        self._loop_task = asyncio.create_task(self._run(), name="eggbot-sweeper")

    async def close(self) -> None:
        """Stop sweeping; webhooks' lookups still waiting get no answer (their callers GET)."""
        self._stop.set()
        self._work.set()
        if self._asking is not None:
            self._asking.cancel()
        for waiting in self._asked.values():
            for future in waiting:
                if not future.done():
                    future.set_result(None)
        self._asked.clear()
        running = [self._loop_task, *self._lookups] if self._loop_task is not None else [*self._lookups]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stop.is_set():
            await self._work.wait()
            if self._stop.is_set():
                return
            if not self._followed:
                self._work.clear()
                continue
            started = self._now()
            pages = 1
            if started >= self._distrust_until:
                try:
                    pages = await self.sweep()
                except EggAPIError as exc:
                    self.stats.failures += 1
                    log.warning("reading EggAPI's task list failed (%s); polling tasks one by one meanwhile", exc.code)
                except DatabaseAway as exc:
                    self.stats.failures += 1
                    log.warning("a sweep of EggAPI's task list could not record what it read: %s", exc)
                except Exception:
                    self.stats.failures += 1
                    log.exception("a sweep of EggAPI's task list crashed")
            self._last_took = self._now() - started
            gap = self._gap(pages)
            self._lapse()
            await self._pause(started + gap - self._now())

    def _gap(self, pages: int) -> float:
        """Seconds from one sweep's start to the next: the interval, or longer when the budget is tight."""
        budget = self._client.budget
        gap = self._interval if budget is None else max(self._interval, pages / (budget.rate * BUDGET_SHARE))
        self._last_gap = gap
        return gap

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)

    async def sweep(self) -> int:
        """Read the list once as deep as needed, tell what changed and what it cannot vouch for; pages read."""
        wanted: dict[str, datetime | None] = {
            entry.egg_id: None if entry.deep else entry.created for entry in self._followed.values()
        }
        scan = PageScan(wanted, max_pages=self._max_pages)
        number = 1
        while True:
            page = await self._client.list_tasks(page=number, per_page=PER_PAGE, priority=Priority.POLL)
            if not scan.add(page):
                break
            number += 1
        self._take(scan.result())
        return scan.pages

    async def find(self, egg_id: str) -> EggTask | None:
        """The followed task as the list shows it, read together with others webhooks named meanwhile.

        None when reading the list would cost more than asking for the task itself (it is the only
        one named), or the list did not show it: then ask for it directly.
        """
        if egg_id not in self._by_egg or self._stop.is_set():
            return None
        future: asyncio.Future[EggTask | None] = asyncio.get_running_loop().create_future()
        self._asked.setdefault(egg_id, []).append(future)
        if self._asking is None:
            self._asking = asyncio.get_running_loop().call_later(HINT_WAIT, self._look)
        return await future

    def _look(self) -> None:
        self._asking = None
        asked, self._asked = self._asked, {}
        lookup = asyncio.create_task(self._lookup(asked), name="eggbot-sweeper-lookup")
        self._lookups.add(lookup)
        lookup.add_done_callback(self._lookups.discard)

    async def _lookup(self, asked: dict[str, list[asyncio.Future[EggTask | None]]]) -> None:
        found: dict[str, EggTask] = {}
        try:
            if len(asked) > 1 and self.trusted:
                found = await self._read_for(set(asked))
        except EggAPIError as exc:
            log.info("reading EggAPI's task list for webhooks' tasks failed (%s); asking for each", exc.code)
        finally:
            for egg_id, waiting in asked.items():
                for future in waiting:
                    if not future.done():
                        future.set_result(found.get(egg_id))

    async def _read_for(self, egg_ids: set[str]) -> dict[str, EggTask]:
        """Pages down to the oldest of these tasks, never more than one fewer than GETs would cost."""
        wanted: dict[str, datetime | None] = {
            entry.egg_id: entry.created for entry in self._followed.values() if entry.egg_id in egg_ids
        }
        wanted.update({entry.egg_id: None for entry in self._followed.values() if entry.egg_id not in egg_ids})
        scan = PageScan(wanted, max_pages=max(1, len(egg_ids) - 1))
        number = 1
        while True:
            page = await self._client.list_tasks(page=number, per_page=PER_PAGE, priority=Priority.POLL)
            if not scan.add(page):
                break
            number += 1
        self.stats.lookups += 1
        self.stats.pages += scan.pages
        answered: dict[str, EggTask] = {}
        for egg_id, egg in scan.found.items():
            task_id = self._by_egg.get(egg_id)
            entry = self._followed.get(task_id) if task_id is not None else None
            if entry is None:
                continue
            if egg_id in egg_ids:
                entry.status = egg.status  # its caller takes it from here
                answered[egg_id] = egg
            elif egg.status != entry.status or egg.is_terminal:
                entry.status = egg.status
                self._on_news(entry.task_id, egg)
        return answered

    def _take(self, sweep: Sweep) -> None:
        now = self._now()
        self.stats.sweeps += 1
        self.stats.pages += sweep.pages
        self.stats.last_pages = sweep.pages
        for egg_id, egg in sweep.found.items():
            task_id = self._by_egg.get(egg_id)
            entry = self._followed.get(task_id) if task_id is not None else None
            if entry is None:
                continue
            entry.seen_at, entry.last, entry.told, entry.deep = now, egg, False, False
            if egg.created_at is not None:
                entry.created = egg.created_at
            if egg.status != entry.status or egg.is_terminal:
                entry.status = egg.status
                self._on_news(entry.task_id, egg)
        if sweep.trusted:
            self._strikes, self._distrust_for = 0, DISTRUST_FIRST
        else:
            self._strikes += 1  # once may be a burst of new tasks between two page reads
            if self._strikes >= STRIKES:
                self.stats.distrusted += 1
                self._distrust_until = now + self._distrust_for
                log.warning(
                    "EggAPI's task list came in no order this bot can rely on (or shifted by more than a page) "
                    "%d times in a row; polling tasks one by one for %.0f s",
                    self._strikes,
                    self._distrust_for,
                )
                self._strikes, self._distrust_for = 0, min(DISTRUST_CAP, self._distrust_for * 2)
        for egg_id in sweep.missing | sweep.beyond:
            task_id = self._by_egg.get(egg_id)
            entry = self._followed.get(task_id) if task_id is not None else None
            if entry is None or entry.told:
                continue
            entry.told, entry.seen_at = True, None
            if egg_id in sweep.beyond:
                entry.deep = sweep.trusted
                self.stats.fallbacks["beyond" if sweep.trusted else "unvouched"] += 1
                self._on_unvouched(entry.task_id, False)
            else:
                self.stats.fallbacks["missing"] += 1
                log.info("task %s: not in EggAPI's task list where it should be; asking for it directly", task_id)
                self._on_unvouched(entry.task_id, True)

    def _lapse(self) -> None:
        """Tasks no sweep has shown for ``backstop`` seconds are the tracker's to poll one by one."""
        now = self._now()
        for entry in self._followed.values():
            if entry.told:
                continue
            last = entry.seen_at if entry.seen_at is not None else entry.since
            if now - last > self._patience() or now < self._distrust_until:
                entry.told = True
                self.stats.fallbacks["unvouched"] += 1
                self._on_unvouched(entry.task_id, False)

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()
