"""Reconciling a submit whose outcome is unknown, against ``GET /v1/tasks``, without re-posting it.

EggAPI has no idempotency key and its task list carries neither our prompt nor a filter, so
the only evidence is time and type. A task is adopted only when that evidence is unambiguous:
exactly one unknown upstream task in the window, and no other unconfirmed submit of ours
whose window overlaps. A task is declared never submitted only after a complete scan of the
list found nothing near it. Everything else stays unconfirmed, its hold kept, for an operator.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db.task_store import TaskStore, utcnow
from bot.eggapi import EggAPIClient, EggTask
from bot.tasks import TaskRecord, TaskStatus

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(seconds=60)  # EggAPI's clock against ours
MAX_PAGES = 50  # 5,000 tasks; a longer list is scanned only this far
PER_PAGE = 100


class Outcome(enum.StrEnum):
    """What the evidence says about an unconfirmed submit."""

    FOUND = "found"  # exactly one upstream task can be ours: adopt it
    ABSENT = "absent"  # a complete scan found nothing near it: the POST never landed
    AMBIGUOUS = "ambiguous"  # several candidates, or several submits of ours at once
    NOT_YET = "not_yet"  # nothing yet, but the list may still catch up (or was not read to the end)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome, and the upstream task when one was found."""

    outcome: Outcome
    egg: EggTask | None = None
    candidates: int = 0


class Reconciler:
    """Judges unconfirmed submits from EggAPI's task list."""

    def __init__(self, store: TaskStore, client: EggAPIClient, *, grace: float) -> None:
        self._store = store
        self._client = client
        self._grace = timedelta(seconds=grace)

    def _window(self, task: TaskRecord) -> tuple[datetime, datetime]:
        sent = task.submitted_at or task.created_at
        return sent - CLOCK_SKEW, sent + self._grace + CLOCK_SKEW

    async def judge(self, task: TaskRecord) -> Verdict:
        """Look for the task upstream; raises EggAPIError when the list cannot be read."""
        start, end = self._window(task)
        candidates, complete = await self._scan(task, start, end)
        rivals = [
            other
            for other in await self._store.list_in_states((TaskStatus.SUBMITTING, TaskStatus.UNKNOWN))
            if other.id != task.id and _overlaps(self._window(other), (start, end))
        ]
        if len(candidates) == 1 and not rivals:
            return Verdict(Outcome.FOUND, candidates[0], 1)
        if candidates:
            log.warning(
                "task %s: %d upstream candidates and %d other unconfirmed submits; not guessing",
                task.id, len(candidates), len(rivals),
            )
            return Verdict(Outcome.AMBIGUOUS, None, len(candidates))
        settled = utcnow() > end
        return Verdict(Outcome.ABSENT if complete and settled else Outcome.NOT_YET)

    async def candidates(self, task: TaskRecord) -> list[EggTask]:
        """The upstream tasks that could be this one (for an operator to choose from)."""
        start, end = self._window(task)
        found, _ = await self._scan(task, start, end)
        return found

    async def _scan(self, task: TaskRecord, start: datetime, end: datetime) -> tuple[list[EggTask], bool]:
        """Unknown upstream tasks of the right type created in the window, and whether the list was read to its end."""
        found: list[EggTask] = []
        for number in range(1, MAX_PAGES + 1):
            page = await self._client.list_tasks(page=number, per_page=PER_PAGE)
            for egg in page.items:
                if egg.created_at is None or not start <= egg.created_at <= end:
                    continue
                if egg.type and egg.type != task.mode:
                    continue
                if await self._store.get_by_egg_id(egg.id) is None:
                    found.append(egg)
            if number >= page.total_pages or not page.items:
                return found, True
        log.warning("task %s: EggAPI lists more than %d tasks; the scan stopped there", task.id, MAX_PAGES * PER_PAGE)
        return found, False


def _overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]
