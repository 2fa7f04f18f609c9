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
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db.task_store import TaskStore, utcnow
from bot.eggapi import MODEL, EggAPIClient, EggTask
from bot.tasks import TaskRecord, TaskStatus

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(seconds=60)  # EggAPI's clock against ours
NEARBY = timedelta(hours=1)  # an unexplained upstream task this close to a submit shows the key is shared
MAX_PAGES = 50  # 5,000 tasks; a longer list is scanned only this far
PER_PAGE = 100

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
    complete: bool  # the list was read to its end


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

    def _window(self, task: TaskRecord) -> Window:
        """When EggAPI can have created the submit's task: not before the POST was sent, save clock skew."""
        sent = task.submitted_at or task.created_at
        return sent - CLOCK_SKEW, sent + self._grace + CLOCK_SKEW

    def _nearby(self, task: TaskRecord) -> Window:
        start, end = self._window(task)
        return start - NEARBY, end + NEARBY

    async def judge(self, task: TaskRecord) -> Verdict:
        """Look for the task upstream; raises EggAPIError when the list cannot be read."""
        scan = await self._scan(task)
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
                task.id, len(fitting), len(rivals), max(strangers, 0),
            )
            return Verdict(Outcome.AMBIGUOUS, None, len(fitting))
        settled = utcnow() > end
        return Verdict(Outcome.ABSENT if scan.complete and settled else Outcome.NOT_YET)

    async def candidates(self, task: TaskRecord) -> list[EggTask]:
        """The upstream tasks that could be this one (for an operator to choose from)."""
        scan = await self._scan(task)
        window = self._window(task)
        return [egg for egg in scan.unknown.values() if _within(egg, window) and fits(task, egg)]

    async def _scan(self, task: TaskRecord) -> _Scan:
        """Upstream tasks unknown to this bot created near the submit, and whether the list was read to its end."""
        nearby = self._nearby(task)
        unknown: dict[str, EggTask] = {}  # by id: a task made during the scan shifts the pages by one
        for number in range(1, MAX_PAGES + 1):
            page = await self._client.list_tasks(page=number, per_page=PER_PAGE)
            for egg in page.items:
                if _within(egg, nearby) and await self._store.get_by_egg_id(egg.id) is None:
                    unknown[egg.id] = egg
            if number >= page.total_pages or not page.items:
                return _Scan(unknown, True)
        log.warning("task %s: EggAPI lists more than %d tasks; the scan stopped there", task.id, MAX_PAGES * PER_PAGE)
        return _Scan(unknown, False)


def _within(egg: EggTask, window: Window) -> bool:
    return egg.created_at is not None and window[0] <= egg.created_at <= window[1]


def _overlaps(a: Window, b: Window) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]
