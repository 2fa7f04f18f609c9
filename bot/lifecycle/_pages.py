"""One read of EggAPI's task list, page by page, checked as it goes (no I/O): ``PageScan``.

The rules (order, paging, where each followed task must be) are explained in ``_sweep``, which reads
the pages and acts on the ``Sweep`` a scan ends with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.eggapi import EggTask, TaskPage

PER_PAGE = 100  # the most EggAPI's list serves a page
MAX_PAGES = 20  # a sweep reads at most this deep (2,000 tasks); deeper tasks are polled one by one


@dataclass(frozen=True, slots=True)
class Sweep:
    """What one sweep found out about the followed tasks (by EggAPI id)."""

    found: dict[str, EggTask]
    missing: frozenset[str]  # not in pages that should have shown them: poll at once
    beyond: frozenset[str]  # older than anything the pages read reached: poll on their own schedule
    trusted: bool  # the pages came newest first, as far as they were read
    pages: int


class PageScan:
    """The pages of one sweep, checked as they come; says when to stop reading (no I/O)."""

    def __init__(self, wanted: Mapping[str, datetime | None], *, max_pages: int = MAX_PAGES) -> None:
        # EggAPI id -> when it was created upstream (or a time before that); None: found only by chance
        self._wanted = dict(wanted)
        self._max_pages = max_pages
        self._seen: set[str] = set()
        self._oldest: datetime | None = None
        self._ended = False
        self.found: dict[str, EggTask] = {}
        self.trusted = True
        self.pages = 0

    def add(self, page: TaskPage) -> bool:
        """Take one page (page 1 first); True when the next page should be read too."""
        self.pages += 1
        for egg in page.items:
            if egg.id in self._seen:
                continue  # the list shifted by a task created between two reads
            self._seen.add(egg.id)
            if egg.created_at is None or (self._oldest is not None and egg.created_at > self._oldest):
                self.trusted = False  # no order to rely on, or a shift by more than a page
            elif self._oldest is None or egg.created_at < self._oldest:
                self._oldest = egg.created_at
            if egg.id in self._wanted:
                self.found[egg.id] = egg
        if page.page >= page.total_pages or not page.items:
            self._ended = True
        if not self.trusted or self._ended or self.pages >= self._max_pages:
            return False
        waiting = [at for egg_id, at in self._wanted.items() if at is not None and egg_id not in self.found]
        return bool(waiting) and (self._oldest is None or self._oldest >= min(waiting))

    def result(self) -> Sweep:
        """Sort the followed tasks not found: missing where they should be, or beyond what was read."""
        missing: set[str] = set()
        beyond: set[str] = set()
        for egg_id, at in self._wanted.items():
            if egg_id in self.found or at is None:
                continue
            passed = self._oldest is not None and self._oldest < at
            (missing if self.trusted and (passed or self._ended) else beyond).add(egg_id)
        return Sweep(dict(self.found), frozenset(missing), frozenset(beyond), self.trusted, self.pages)
