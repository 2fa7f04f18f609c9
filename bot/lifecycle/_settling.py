"""The tracker's reconcile step: settling a submit whose outcome is unknown, never re-posting it.

Carved out of ``tracker`` so that it reads as one story: the ``Reconciler`` (``_reconcile``)
judges the evidence in EggAPI's task list; this step acts on its verdict (adopt the task it found,
end the job when a complete scan found nothing, tell the member once when it cannot tell), and
follows up on a submit that the operator settled meanwhile (``bot.unconfirmed.desk``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.eggapi import EggAPIError, EggTask
from bot.i18n import Text
from bot.lifecycle._dispatch import Dispatcher
from bot.lifecycle._following import Follower, Schedule
from bot.lifecycle._reconcile import Outcome, Reconciler
from bot.lifecycle._steps import Step
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.outcomes import Outcomes
from bot.lifecycle.ports import Phase
from bot.lifecycle.status_board import StatusBoard
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper

log = logging.getLogger(__name__)

UNCONFIRMED_NOTE = "job.unconfirmed_told"  # the catalogue key of the note (Progress.detail)

Adopt = Callable[[TaskRecord, EggTask, TaskStatus], Awaitable[bool]]
"""The tracker's: a task becomes this EggAPI task, moved on from this status (False when it did not)."""


class Settler:
    """Settles unconfirmed submits from EggAPI's task list; each ambiguous one is told to its member once."""

    def __init__(
        self,
        store: TaskStore,
        books: Bookkeeper,
        reconciler: Reconciler,
        *,
        adopt: Adopt,
        line: Dispatcher,
        following: Follower,
        board: StatusBoard,
        outcomes: Outcomes,
        schedule: Schedule,
        retry_delay: float,
    ) -> None:
        self._store = store
        self._books = books
        self._reconciler = reconciler
        self._adopt = adopt
        self._line = line
        self._following = following
        self._board = board
        self._outcomes = outcomes
        self._schedule = schedule
        self._retry_delay = retry_delay  # seconds; the tracker's poll_interval_max
        self._unconfirmed_told: set[int] = set()

    def forget(self, task_id: int) -> None:
        """Another process follows the task now: if it is still unconfirmed, that one tells its member."""
        self._unconfirmed_told.discard(task_id)

    async def reconcile(self, task_id: int) -> None:
        """Settle a submit whose outcome is unknown from EggAPI's task list, never re-posting it."""
        task = await self._store.get(task_id)
        if task is None:
            return
        if task.status not in (TaskStatus.SUBMITTING, TaskStatus.UNKNOWN):
            await self._settled_by_operator(task)  # or by this tracker meanwhile: then nothing to do
            return
        if task.status is TaskStatus.SUBMITTING:  # the process died around the POST
            await self._books.move(task_id, TaskStatus.SUBMITTING, TaskStatus.UNKNOWN, error="INTERRUPTED")
            task = await self._store.get(task_id)
            assert task is not None
        try:
            verdict = await self._reconciler.judge(task)
        except EggAPIError as exc:
            log.warning("task %s: cannot list EggAPI tasks to reconcile (%s); retrying", task_id, exc.code)
            self._schedule(Step.RECONCILE, task_id, self._retry_delay)
            return
        if verdict.outcome is Outcome.FOUND:
            assert verdict.egg is not None
            if await self._adopt(task, verdict.egg, TaskStatus.UNKNOWN):
                return
        if verdict.outcome is Outcome.ABSENT:
            log.warning("task %s: a complete scan of EggAPI's tasks found nothing; the submit never landed", task_id)
            if not await self._outcomes.end_without_images(
                task,
                TaskStatus.UNKNOWN,
                TaskStatus.REJECTED,
                "NOT_SUBMITTED",
                Text("service.never_received"),
            ):
                self._schedule(Step.RECONCILE, task_id, 0.0)  # the operator settled it meanwhile: see to that
            return
        if verdict.outcome is Outcome.AMBIGUOUS and task_id not in self._unconfirmed_told:
            self._unconfirmed_told.add(task_id)
            log.error(
                "task %s: cannot tell which EggAPI task is ours (%d candidates); its hold stays until resolved",
                task_id,
                verdict.candidates,
            )
            self._board.show(task, Phase.UNCONFIRMED, detail=UNCONFIRMED_NOTE, force=True)
        self._schedule(Step.RECONCILE, task_id, self._retry_delay * 4)

    async def _settled_by_operator(self, task: TaskRecord) -> None:
        """An unconfirmed submit the operator settled (``bot.unconfirmed.desk``): follow it, or tell the member."""
        self._unconfirmed_told.discard(task.id)
        self._line.on_change(task.id, task.status)  # changed by another process: free its place in line
        if task.status is TaskStatus.RUNNING and not self._board.following(task.id):
            self._following.follow(task)
            self._board.show(task, Phase.PENDING, force=True)
            self._schedule(Step.POLL, task.id, 0.0)
        else:
            await self._outcomes.released(task)
