"""Status messages, seen from the core: what each job's message should say, edited without blocking.

The tracker says what a task's status is; the board decides whether that is worth an edit
(a new phase, or ``edit_interval`` since the last one) and makes it beside the tracker's
steps, one edit at a time per task with only the newest kept, so a slow or rate-limited edit
never holds up polling.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.db.task_store import utcnow
from bot.publishing import Phase, Progress, Publisher
from bot.tasks import TaskRecord

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Shown:
    phase: Phase | None = None
    at: float = float("-inf")


class StatusBoard:
    """Throttled, coalesced status edits through the publisher."""

    def __init__(self, edit_interval: float) -> None:
        self._edit_interval = edit_interval
        self._publisher: Publisher | None = None
        self._followed: dict[int, _Shown] = {}
        self._pending: dict[int, tuple[TaskRecord, Progress]] = {}
        self._editors: dict[int, asyncio.Task[None]] = {}

    def attach(self, publisher: Publisher) -> None:
        """Where edits go."""
        self._publisher = publisher

    def follow(self, task_id: int) -> None:
        """Throttle this task's routine updates from now on (it is running upstream)."""
        self._followed.setdefault(task_id, _Shown())

    def forget(self, task_id: int) -> None:
        """The task stopped running: no more throttling state for it."""
        self._followed.pop(task_id, None)

    def show(self, task: TaskRecord, phase: Phase, *, detail: str | None = None, force: bool = False) -> None:
        """Queue an edit: always when forced or for a followed task's new phase, else at most every interval."""
        if self._publisher is None:
            return
        shown = self._followed.get(task.id)
        now = asyncio.get_running_loop().time()
        if shown is not None and not force and shown.phase is phase and now - shown.at < self._edit_interval:
            return
        if shown is not None:
            shown.phase, shown.at = phase, now
        elapsed = (utcnow() - task.created_at).total_seconds()
        self._pending[task.id] = (task, Progress(phase, elapsed, detail))
        if task.id not in self._editors:
            self._editors[task.id] = asyncio.create_task(self._edit(task.id), name=f"eggbot-edit-{task.id}")

    async def drain(self, grace: float) -> None:
        """Let the last edits land (for up to ``grace`` seconds)."""
        if self._editors:
            await asyncio.wait(set(self._editors.values()), timeout=grace)

    async def _edit(self, task_id: int) -> None:
        assert self._publisher is not None
        try:
            while (pending := self._pending.pop(task_id, None)) is not None:
                task, progress = pending
                try:
                    await self._publisher.show_progress(task, progress)
                except Exception:
                    log.exception("task %s: status update failed", task_id)
        finally:
            self._editors.pop(task_id, None)
