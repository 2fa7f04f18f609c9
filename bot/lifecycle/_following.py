"""Following the tasks that run upstream until they end: list sweeps for most, a GET where needed.

Every running task is followed by the ``Sweeper`` (``_sweep``), which reads EggAPI's task list
about once a second and reports what changed. A task is asked for on its own (``GET
/v1/tasks/{id}``, timed by the ``PollPlanner`` of ``_polling``) only when the list cannot vouch
for it: not where it should be, deeper than a sweep reads, the list in no reliable order or
failing, or a webhook saying it changed. Either way the one ``poll`` step turns what EggAPI says
into the task's next state, so both paths share every rule (404 patience, failures, costs).

A status message changes only with the phase (waiting, generating, taking longer, stuck, done),
so a task whose upstream state did not change costs no database read and no edit; the moments it
turns "longer than usual" or stale are timed steps of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.clock import utcnow
from bot.eggapi import EggAPIClient, EggAPIError, EggTask, NotFound, Priority, format_cost
from bot.lifecycle._polling import WEBHOOK_FACTOR, PollPlanner
from bot.lifecycle._steps import Step
from bot.lifecycle._sweep import Sweeper
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.outcomes import Outcomes
from bot.lifecycle.ports import Phase, describe_failure, failure_code
from bot.lifecycle.status_board import StatusBoard
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper

log = logging.getLogger(__name__)

NOT_FOUND_PATIENCE = 600.0  # seconds of 404s before a running task is given up as lost upstream
HINTS_KEPT = 256  # webhook marks remembered (finished tasks' are forgotten first)

Schedule = Callable[[Step, int, float], None]


class Follower:
    """Follows running tasks upstream and moves them on when EggAPI says they ended."""

    def __init__(
        self,
        store: TaskStore,
        books: Bookkeeper,
        client: EggAPIClient,
        *,
        board: StatusBoard,
        outcomes: Outcomes,
        schedule: Schedule,
        planner: PollPlanner,
        list_interval: float,
        backstop: float,
        stale_after: float,
        hint_cooldown: float,
        webhooks: bool,
    ) -> None:
        self._store = store
        self._books = books
        self._client = client
        self._board = board
        self._outcomes = outcomes
        self._schedule = schedule
        self._timing = planner
        self._stale_after = stale_after
        self._hint_cooldown = hint_cooldown
        self._news: dict[int, EggTask] = {}  # what sweeps saw change, waiting for the poll step
        self._hinted: set[int] = set()  # a webhook said these changed: ask EggAPI, not the last sweep
        self._missing: set[int] = set()  # a sweep did not find these where it should have: ask at once
        self._hint_polls: dict[int, float] = {}  # when a webhook last made each task be polled
        self._first_miss: dict[int, float] = {}
        self.sweeper = Sweeper(
            client,
            interval=list_interval * (WEBHOOK_FACTOR if webhooks else 1.0),  # webhooks lead; sweeps back them
            backstop=backstop,
            on_news=self._on_news,
            on_unvouched=self._on_unvouched,
        )
        store.add_listener(self._on_change)

    def follow(self, task: TaskRecord, egg: EggTask | None = None) -> None:
        """Follow a task now running upstream; ``egg`` is EggAPI's word on it when there is one (the submit's)."""
        egg_id = egg.id if egg is not None else task.egg_task_id
        assert egg_id is not None, "only a task with an EggAPI id can be followed"
        self._board.follow(task.id)
        exact = egg is not None and egg.created_at is not None
        created = egg.created_at if egg is not None and egg.created_at is not None else task.submitted_at
        status = (egg.status if egg is not None else task.upstream_status) or "pending"
        self.sweeper.follow(task.id, egg_id, created or task.created_at, exact=exact, status=status)
        if self.sweeper.trusted:
            self._at_next_phase(task)
        else:
            self._schedule(Step.POLL, task.id, self._timing.first_delay(task))

    def hinted(self, task_id: int) -> None:
        """A webhook says the task changed: ask EggAPI at once, unless a hint did in the last ``hint_cooldown``.

        Hints may be forged when no webhook secret is set, so after the first one a task is polled
        at most once per cooldown, whatever arrives.
        """
        now = asyncio.get_running_loop().time()
        last = self._hint_polls.get(task_id)
        if last is not None and last > now:
            return  # one hinted poll is already waiting
        due = now if last is None else max(now, last + self._hint_cooldown)
        self._hint_polls[task_id] = due
        if len(self._hint_polls) > HINTS_KEPT:  # forget finished tasks' marks, oldest first
            for old in [tid for tid, at in self._hint_polls.items() if at < now - self._hint_cooldown]:
                del self._hint_polls[old]
        self._hinted.add(task_id)
        self._schedule(Step.POLL, task_id, due - now)

    def observe_duration(self, task: TaskRecord, egg: EggTask) -> None:
        """Remember how long a finished task took (the planner times one-by-one polls by it)."""
        self._timing.observe(task, egg.created_at, egg.completed_at)

    # -- what the sweeper says ---------------------------------------------------------------

    def _on_news(self, task_id: int, egg: EggTask) -> None:
        self._news[task_id] = egg
        self._schedule(Step.POLL, task_id, 0.0)

    def _on_unvouched(self, task_id: int, now: bool) -> None:
        if now:
            self._missing.add(task_id)
        self._schedule(Step.POLL, task_id, 0.0 if now else self._timing.first)

    def _on_change(self, task_id: int, new: TaskStatus) -> None:
        """A task left ``running`` (here or elsewhere): no more sweeps look for it."""
        if new is not TaskStatus.RUNNING:
            self.sweeper.unfollow(task_id)
            self._news.pop(task_id, None)
            self._hinted.discard(task_id)
            self._missing.discard(task_id)

    # -- the poll step -------------------------------------------------------------------------

    async def poll(self, task_id: int) -> bool:
        """Take EggAPI's word on the task (a sweep's, else one GET); True when it completed: deliver it."""
        task = await self._store.get(task_id)
        if task is None or task.status is not TaskStatus.RUNNING or task.egg_task_id is None:
            self._board.forget(task_id)
            self.sweeper.unfollow(task_id)
            self._news.pop(task_id, None)
            return False
        self._board.follow(task_id)
        status = task.upstream_status or "pending"  # followed already, except after the operator settled it
        self.sweeper.follow(task.id, task.egg_task_id, task.submitted_at or task.created_at, exact=False, status=status)
        egg = self._news.pop(task_id, None)
        hinted, missing = task_id in self._hinted, task_id in self._missing
        self._hinted.discard(task_id)
        self._missing.discard(task_id)
        if egg is None and not hinted and self.sweeper.covers(task_id):
            egg = self.sweeper.last(task_id)  # fresh from a sweep: only its age changed
        if egg is None and hinted:
            egg = await self.sweeper.find(task.egg_task_id)  # with the other tasks webhooks named meanwhile
        if egg is None:
            egg = await self._ask(task, Priority.POLL if hinted or missing else Priority.FALLBACK)
            if egg is None:
                return False
        self._first_miss.pop(task_id, None)
        if egg.status == "completed":
            return await self._finish(task, egg)
        if egg.status == "failed":
            self._board.forget(task_id)
            log.info("task %s: EggAPI task %s failed", task_id, egg.id)
            await self._outcomes.end_without_images(
                task, TaskStatus.RUNNING, TaskStatus.FAILED, failure_code(egg.error), describe_failure(egg.error), egg
            )
            return False
        if egg.status != task.upstream_status:
            await self._store.update(task_id, upstream_status=egg.status)
        phase = Phase.PROCESSING if egg.status == "processing" else Phase.PENDING
        if self._timing.running_for(task) > self._stale_after:
            phase = Phase.STALE
            await self._outcomes.mark_stale(task, self._timing.running_for(task))
        elif self._timing.past_deadline(task):
            phase = Phase.STILL_RUNNING
        self._board.show(task, phase, detail=egg.id)
        if self.sweeper.covers(task_id):
            self._at_next_phase(task)
        else:
            self._schedule(Step.POLL, task_id, self._timing.next_delay(task))
        return False

    async def _ask(self, task: TaskRecord, priority: Priority) -> EggTask | None:
        """``GET /v1/tasks/{id}``; None when there is no answer to act on (retried later, or given up)."""
        assert task.egg_task_id is not None
        try:
            egg = await self._client.get_task(task.egg_task_id, priority=priority)
        except NotFound:
            now = asyncio.get_running_loop().time()
            first = self._first_miss.setdefault(task.id, now)
            log.warning("task %s: EggAPI does not know %s (for %.0f s)", task.id, task.egg_task_id, now - first)
            if now - first >= NOT_FOUND_PATIENCE:
                self._first_miss.pop(task.id, None)
                await self._outcomes.end_without_images(
                    task, TaskStatus.RUNNING, TaskStatus.FAILED, "NOT_FOUND", describe_failure(None)
                )
                return None
            self._schedule(Step.POLL, task.id, self._timing.next_delay(task))
            return None
        except EggAPIError as exc:
            log.warning("task %s: polling %s failed (%s); retrying", task.id, task.egg_task_id, exc.code)
            self._schedule(Step.POLL, task.id, self._timing.next_delay(task))
            return None
        self.sweeper.saw(task.id, egg)
        return egg

    def _at_next_phase(self, task: TaskRecord) -> None:
        """Look again when the task's age alone changes what it shows (sweeps report everything else)."""
        wait = self._timing.until_next_phase(task)
        if wait is not None:
            self._schedule(Step.POLL, task.id, wait)

    async def _finish(self, task: TaskRecord, egg: EggTask) -> bool:
        self._board.forget(task.id)
        self.observe_duration(task, egg)
        if not egg.output_urls:
            log.warning("task %s: EggAPI task %s completed without images", task.id, egg.id)
            await self._outcomes.end_without_images(
                task, TaskStatus.RUNNING, TaskStatus.FAILED, "NO_OUTPUT", describe_failure(None), egg
            )
            return False
        charge = await self._books.charge(egg.cost, len(egg.output_urls))  # an unreadable cost is estimated
        moved = await self._books.move(
            task.id,
            TaskStatus.RUNNING,
            TaskStatus.COMPLETED,
            settle=charge,
            upstream_status=egg.status,
            cost=charge.amount,
            output_urls=egg.output_urls,
            finished_at=egg.completed_at or utcnow(),
        )
        if not moved:
            return False
        if charge.estimated:  # once per task: only the poll that moved it gets here
            log.warning(
                "task %s: EggAPI task %s completed with a cost that cannot be read (%s); charged the estimate %s",
                task.id,
                egg.id,
                egg.unreadable_cost,
                format_cost(charge.amount),
            )
        log.info(
            "task %s: EggAPI task %s completed, %d image(s), cost %s",
            task.id,
            egg.id,
            len(egg.output_urls),
            format_cost(charge.amount),
        )
        return True

    @property
    def alive(self) -> bool:
        """Whether the sweeps run."""
        return self.sweeper.alive
