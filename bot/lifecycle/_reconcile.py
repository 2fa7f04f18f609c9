"""Reconciling a submit whose outcome is unknown, against ``GET /v1/tasks``, without re-posting it.

EggAPI has no idempotency key and its task list carries neither our prompt nor a filter, so the
only evidence is time, type, model and image count, and the key may be shared with other clients
(the dashboard, a second bot, staging). A task is adopted only when that evidence is unambiguous:
it fits (same type and model, no more images than asked, created in the submit's window), it has
finished (an unfinished task's image count is not known yet), it is the only one that fits, no
other unconfirmed submit of ours overlaps, and no upstream task this bot cannot account for was
made near it (which would show someone else uses the key). A submit is declared never made only
after a complete scan found nothing that fits. Everything else stays unconfirmed, its hold kept,
for an operator.

The list's order is undocumented. When every task read so far came newest first, the scan stops at
the first page older than anything it needs; otherwise it reads up to ``MAX_PAGES``. A scan that
could not reach the end is never grounds to adopt or to give up: the operator is told once, and
further scans of that submit back off (``RESCAN_FIRST`` doubling to ``RESCAN_CAP``).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import utcnow
from bot.eggapi import MODEL, EggAPIClient, EggTask
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.task_store import TaskStore

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(seconds=60)  # EggAPI's clock against ours
NEARBY = timedelta(hours=1)  # an unexplained upstream task this close to a submit shows the key is shared
MAX_PAGES = 50  # 5,000 tasks; a longer list is scanned only this far
PER_PAGE = 100
RESCAN_FIRST = timedelta(minutes=5)  # after a scan that could not read the whole list
RESCAN_CAP = timedelta(hours=1)

Window = tuple[datetime, datetime]


class Outcome(enum.StrEnum):
    """What the evidence says about an unconfirmed submit."""

    FOUND = "found"  # exactly one finished upstream task can be ours, and nothing suggests a stranger: adopt it
    ABSENT = "absent"  # a complete scan found nothing that fits: the POST never landed
    AMBIGUOUS = "ambiguous"  # several candidates, several submits of ours at once, or a shared key
    NOT_YET = "not_yet"  # nothing decided yet: the list may catch up, or the candidate has not finished


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome, and the upstream task when one was found."""

    outcome: Outcome
    egg: EggTask | None = None
    candidates: int = 0


@dataclass(frozen=True, slots=True)
class _Scan:
    """What one read of the task list showed near a submit."""

    unknown: dict[str, EggTask]  # upstream tasks this bot has no record of, created near the submit
    complete: bool  # the list was read to its end, or (newest first) past everything near the submit


@dataclass(frozen=True, slots=True)
class _Backoff:
    """The last verdict from an incomplete scan, kept until the next scan is due."""

    verdict: Verdict
    scans: int
    due: datetime


def fits(task: TaskRecord, egg: EggTask) -> bool:
    """Whether the upstream task can be this submit's, by what the list tells (its time aside).

    EggAPI may make fewer images than asked, never more; only ``nanobanana`` is ever sent.
    """
    if egg.type and egg.type != task.mode:
        return False
    if egg.model and egg.model != MODEL:
        return False
    return len(egg.output_urls) <= task.count


class Reconciler:
    """Judges unconfirmed submits from EggAPI's task list."""

    def __init__(self, store: TaskStore, client: EggAPIClient, *, grace: float) -> None:
        self._store = store
        self._client = client
        self._grace = timedelta(seconds=grace)
        self._backoff: dict[int, _Backoff] = {}

    def _window(self, task: TaskRecord) -> Window:
        """When EggAPI can have created the submit's task: not before the POST was sent, save clock skew."""
        sent = task.submitted_at or task.created_at
        return sent - CLOCK_SKEW, sent + self._grace + CLOCK_SKEW

    def _nearby(self, task: TaskRecord) -> Window:
        start, end = self._window(task)
        return start - NEARBY, end + NEARBY

    async def judge(self, task: TaskRecord) -> Verdict:
        """Look for the task upstream; raises EggAPIError when the list cannot be read."""
        held = self._backoff.get(task.id)
        if held is not None and utcnow() < held.due:
            log.debug("task %s: EggAPI's list is too long to read in full; scanning it again at %s", task.id, held.due)
            return held.verdict
        scan = await self._scan(task)
        verdict = await self._weigh(task, scan)
        if scan.complete:
            self._backoff.pop(task.id, None)
            return verdict
        scans = held.scans + 1 if held is not None else 1
        wait = min(RESCAN_FIRST * 2 ** (scans - 1), RESCAN_CAP)
        self._backoff[task.id] = _Backoff(verdict, scans, utcnow() + wait)
        log.log(
            logging.ERROR if held is None else logging.DEBUG,
            "task %s: EggAPI lists more than %d tasks in no order this bot can rely on, so it cannot confirm "
            "this submit by itself; settle it with `python -m bot unconfirmed` (next scan in %d s)",
            task.id,
            MAX_PAGES * PER_PAGE,
            wait.total_seconds(),
        )
        return verdict

    async def _weigh(self, task: TaskRecord, scan: _Scan) -> Verdict:
        start, end = self._window(task)
        fitting = [egg for egg in scan.unknown.values() if _within(egg, (start, end)) and fits(task, egg)]
        others = [
            other
            for other in await self._store.list_in_states((TaskStatus.SUBMITTING, TaskStatus.UNKNOWN))
            if other.id != task.id and _overlaps(self._window(other), self._nearby(task))
        ]
        rivals = [other for other in others if _overlaps(self._window(other), (start, end))]
        # Unknown upstream tasks that are not this submit's, beyond what our other unconfirmed submits explain.
        strangers = len(scan.unknown) - len(fitting) - len(others)
        if len(fitting) == 1 and not rivals and strangers <= 0 and scan.complete:
            egg = fitting[0]
            if not egg.is_terminal:  # its image count is not known yet; the list may also lag behind
                egg = await self._client.get_task(egg.id)
            if not fits(task, egg):
                fitting = []
            elif egg.is_terminal:
                return Verdict(Outcome.FOUND, egg, 1)
            else:
                return Verdict(Outcome.NOT_YET, None, 1)
        if fitting:
            log.warning(
                "task %s: %d upstream candidate(s), %d other unconfirmed submit(s) and %d upstream task(s) "
                "this bot cannot account for near it; not guessing",
                task.id,
                len(fitting),
                len(rivals),
                max(strangers, 0),
            )
            return Verdict(Outcome.AMBIGUOUS, None, len(fitting))
        if utcnow() <= end:
            return Verdict(Outcome.NOT_YET)
        return Verdict(Outcome.ABSENT if scan.complete else Outcome.AMBIGUOUS)  # unread pages: the operator decides

    async def candidates(self, task: TaskRecord) -> list[EggTask]:
        """The upstream tasks that could be this one (for an operator to choose from)."""
        scan = await self._scan(task)
        window = self._window(task)
        return [egg for egg in scan.unknown.values() if _within(egg, window) and fits(task, egg)]

    async def _scan(self, task: TaskRecord) -> _Scan:
        """Upstream tasks unknown to this bot created near the submit, and whether the list was read to its end."""
        nearby = self._nearby(task)
        unknown: dict[str, EggTask] = {}  # by id: a task made during the scan shifts the pages by one
        order = _Order()
        for number in range(1, MAX_PAGES + 1):
            page = await self._client.list_tasks(page=number, per_page=PER_PAGE)
            for egg in page.items:
                order.see(egg.created_at)
                if _within(egg, nearby) and await self._store.get_by_egg_id(egg.id) is None:
                    unknown[egg.id] = egg
            if number >= page.total_pages or not page.items:
                return _Scan(unknown, True)
            if order.newest_first and order.oldest_seen is not None and order.oldest_seen < nearby[0]:
                log.debug("task %s: EggAPI lists newest first; the rest of its list is older than needed", task.id)
                return _Scan(unknown, True)
        return _Scan(unknown, False)


class _Order:
    """Whether the tasks read so far came newest first: checked on every one, never assumed.

    Equal times prove nothing, so at least one strictly older task must have followed a newer one.
    """

    def __init__(self) -> None:
        self._ascending_seen = False
        self._descending_seen = False
        self.oldest_seen: datetime | None = None  # the last one read, while the order holds

    def see(self, created: datetime | None) -> None:
        last = self.oldest_seen
        if created is None or (last is not None and created > last):
            self._ascending_seen = True
        elif last is not None and created < last:
            self._descending_seen = True
        self.oldest_seen = created or last

    @property
    def newest_first(self) -> bool:
        return self._descending_seen and not self._ascending_seen


def _within(egg: EggTask, window: Window) -> bool:
    return egg.created_at is not None and window[0] <= egg.created_at <= window[1]


def _overlaps(a: Window, b: Window) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]
