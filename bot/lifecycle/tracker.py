"""The tracker: submits queued tasks, follows them on EggAPI and hands finished ones to delivery.

Its steps (submit, poll, reconcile, deliver) run on the ``Scheduler``; the ``Dispatcher`` picks
which queued task goes next. Every state change goes through the task store's guarded
transitions, so a restart (or a racing duplicate) never applies a step twice.

Several bot processes share the tasks through ``Leases``: a step runs only for a task whose lease
this process holds, its state changes are fenced by the lease, and tasks taken over from a process
that died are resumed exactly as after a restart. The running caps are counted in the database
when a task moves to 'submitting', so they hold for all processes together.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.eggapi import (
    EggAPIClient,
    EggAPIError,
    EggAPIUnavailable,
    EggTask,
    SubmitOutcomeUnknown,
)
from bot.i18n import Text
from bot.lifecycle._dispatch import Dispatcher
from bot.lifecycle._following import Follower
from bot.lifecycle._hints import WebhookHints
from bot.lifecycle._polling import PollPlanner
from bot.lifecycle._reconcile import Reconciler
from bot.lifecycle._resuming import RESUME_AT, TaskStep, only_while_held
from bot.lifecycle._sending import Answer, NotSent, Sender
from bot.lifecycle._settling import Settler
from bot.lifecycle._steps import Scheduler, Step
from bot.lifecycle._sweep import Sweeper
from bot.lifecycle.delivery import Deliverer
from bot.lifecycle.foreground import Foreground
from bot.lifecycle.leases import Leases
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.outcomes import RELEASED, Outcomes
from bot.lifecycle.ports import Phase
from bot.lifecycle.references import ReferenceCheck
from bot.lifecycle.status_board import StatusBoard
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper, RunningCaps
from bot.storage import IntegrityError

log = logging.getLogger(__name__)

OPERATOR_ERRORS = ("UNAUTHORIZED", "FORBIDDEN", "INSUFFICIENT_BALANCE")
MAX_SUBMIT_RETRIES = 5  # EggAPI busy or unreachable before anything was sent: back in line this often


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Timing and concurrency knobs (seconds and counts)."""

    poll_interval_min: float = 2.0
    poll_interval_max: float = 15.0
    task_deadline: float = 300.0
    stale_after: float = 3600.0
    status_edit_interval: float = 5.0
    max_concurrent_submits: int = 4
    max_concurrent_polls: int = 16
    max_running_per_member: int = 3
    max_running_total: int = 20
    reconcile_grace: float = 120.0
    hint_cooldown: float = 2.0  # a webhook polls its task at once, then at most this often
    list_interval: float = 1.0  # seconds between two reads of EggAPI's task list while tasks run
    webhook_url: str | None = None

    @property
    def backstop(self) -> float:
        """Seconds a running task may go unseen by reads of the list before it is polled on its own."""
        return max(self.poll_interval_max, 3 * self.list_interval)


class Tracker:
    """Follows every unfinished task until it is delivered or has failed."""

    def __init__(
        self,
        store: TaskStore,
        books: Bookkeeper,
        client: EggAPIClient,
        config: TrackerConfig,
        *,
        board: StatusBoard,
        outcomes: Outcomes,
        deliverer: Deliverer,
        reconciler: Reconciler,
        foreground: Foreground,
        references: ReferenceCheck,
        leases: Leases,
        refresh: Callable[[TaskRecord], Awaitable[TaskRecord]] | None = None,
    ) -> None:
        self._store = store
        self._leases = leases
        self._books = books
        self._config = config
        self._deliverer = deliverer
        self._board = board
        self._outcomes = outcomes
        self._submit_retries: dict[int, int] = {}
        self._jobs = Scheduler(
            {
                Step.SUBMIT: self._leased(self._submit),
                Step.POLL: self._leased(self._poll),
                Step.RECONCILE: self._leased(lambda task_id: self._settler.reconcile(task_id), ended_too=True),
                Step.DELIVER: self._leased(self._deliver),
                Step.POSITIONS: lambda _: self._line.show_positions(),
                Step.REQUEUE: self._leased(lambda task_id: self._line.rejoin(task_id)),
            },
            {
                Step.SUBMIT: config.max_concurrent_submits,  # the dispatcher already bounds it
                Step.POLL: config.max_concurrent_polls,
                Step.DELIVER: config.max_concurrent_polls,
            },
            retry_delay=config.poll_interval_max,
            skip_when_closing=(Step.SUBMIT,),  # stays queued; resumed at the next start
            after=lambda step, task_id: self._line.after_step(step, task_id),
            foreground=foreground,
        )
        self._schedule = self._jobs.schedule
        self._line = Dispatcher(
            store,
            self._jobs,
            self._show_queued,
            max_submits=config.max_concurrent_submits,
            max_running_per_member=config.max_running_per_member,
            max_running_total=config.max_running_total,
            position_interval=config.status_edit_interval,
            busy=lambda: client.busy,
        )
        store.add_listener(self._line.on_change)
        self._following = Follower(
            store,
            books,
            client,
            board=board,
            outcomes=outcomes,
            schedule=self._schedule,
            planner=PollPlanner(
                first=config.poll_interval_min,
                ceiling=config.poll_interval_max,
                deadline=config.task_deadline,
                stale_after=config.stale_after,
                webhooks=config.webhook_url is not None,
            ),
            list_interval=config.list_interval,
            backstop=config.backstop,
            stale_after=config.stale_after,
            hint_cooldown=config.hint_cooldown,
            webhooks=config.webhook_url is not None,
        )
        caps = RunningCaps(config.max_running_total, config.max_running_per_member)
        self._sender = Sender(
            books, client, caps, references, self._line, webhook_url=config.webhook_url, refresh=refresh
        )
        self._hints = WebhookHints(store, leases, self._following, self._schedule)
        self._settler = Settler(
            store,
            books,
            reconciler,
            adopt=self._adopt,
            line=self._line,
            following=self._following,
            board=board,
            outcomes=outcomes,
            schedule=self._schedule,
            retry_delay=config.poll_interval_max,
        )
        if client.budget is not None:  # EggAPI busy or calm again: members waiting in line are told
            client.budget.add_listener(lambda _: self._line.refresh())

    @property
    def board(self) -> StatusBoard:
        """Where every status message edit goes."""
        return self._board

    @property
    def alive(self) -> bool:
        """Whether the scheduler loop, the reads of EggAPI's task list and the leases' loop are running."""
        return self._jobs.alive and self._following.alive and self._leases.alive

    @property
    def sweeper(self) -> Sweeper:
        """The reads of EggAPI's task list that follow running tasks (for tests and the benchmark)."""
        return self._following.sweeper

    @property
    def in_flight(self) -> int:
        """How many jobs are scheduled or running."""
        return self._jobs.in_flight

    @property
    def remembered_hints(self) -> int:
        """How many webhook ids that match no task of ours are kept (bounded; for tests and health)."""
        return self._hints.remembered

    async def start(self) -> None:
        """Resume every unfinished task nobody else follows from its recorded state, then run the scheduler.

        Nobody else: no other live process holds its lease (this process's own earlier run does not count).
        """
        resumed = await self._leases.claim(first=True)
        for task in resumed:
            self._resume(task)
        for released in await self._store.list_with_error(TaskStatus.REJECTED, RELEASED):
            self._schedule(Step.RECONCILE, released.id)  # released by the operator while this bot was away
        if resumed:
            log.info("resuming %d unfinished task(s)", len(resumed))
        for delivered in await self._store.list_status_left():  # posted before a stop, status message still there
            self._board.remove(delivered)
        self._jobs.start()
        self._following.sweeper.start()
        self._line.pump()
        self._leases.start(taken_over=self._resume, lost=self._let_go, hinted=self.hint, looked=self._line.retry)

    def _leased(self, step: TaskStep, *, ended_too: bool = False) -> TaskStep:
        return only_while_held(self._leases, self._store, step, ended_too=ended_too)

    def _let_go(self, task_id: int) -> None:
        """Another process holds the task now (or it ended elsewhere): stop following it here."""
        self._leases.let_go(task_id)
        self._line.drop(task_id)
        self._board.forget(task_id)
        self._following.sweeper.unfollow(task_id)
        self._submit_retries.pop(task_id, None)
        self._settler.forget(task_id)

    def _resume(self, task: TaskRecord) -> None:
        """Take up a task this process now holds (at start, or taken over) where its recorded state left it."""
        if task.status is TaskStatus.QUEUED:
            self._line.push(task.id, task.member_id, task.asked)  # submitted once the scheduler runs
            return
        if task.status in (TaskStatus.SUBMITTING, TaskStatus.UNKNOWN, TaskStatus.RUNNING):
            self._line.mark_running(task.id, task.member_id)
        if task.status is TaskStatus.RUNNING and task.egg_task_id is not None:
            self._following.follow(task)  # the first read of the list finds what finished meanwhile
            return
        kind = RESUME_AT.get(task.status)
        if kind is not None:
            self._schedule(kind, task.id)

    async def close(self, grace: float = 10.0) -> None:
        """Stop taking work, let running jobs finish for up to ``grace`` seconds, then cancel.

        Then the leases are released, so other processes take the unfinished tasks at once.
        """
        await self._leases.close()
        await self._following.sweeper.close()
        await self._jobs.close(grace)
        await self._deliverer.close()  # no post, hence no 'done' to show, after this
        await self._board.drain(grace)
        try:
            await self._leases.release()
        except Exception:  # the leases lapse by themselves; others take over a little later
            log.exception("could not release this process's leases")

    def enqueue(self, task: TaskRecord) -> None:
        """Queue a newly recorded task; it is submitted in fair turn as soon as there is room.

        Among its member's own queued tasks it takes its place in the order they were asked for.
        """
        self._line.push(task.id, task.member_id, task.asked)

    async def _show_queued(self, task: TaskRecord, phase: Phase, detail: str | None, busy: bool) -> None:
        self._board.show(task, phase, detail=detail, busy=busy, force=True)

    async def hint(self, egg_task_id: str) -> bool:
        """A webhook says this EggAPI task changed (``WebhookHints.hint``); True when it is a running task's."""
        return await self._hints.hint(egg_task_id)

    # -- submit ------------------------------------------------------------------------------

    async def _submit(self, task_id: int) -> None:
        task = await self._store.get(task_id)
        if task is None:
            return
        sent = await self._sender.answer(task)
        if sent is None:
            return
        task, answer = sent
        await self._record_answer(task, answer)
        self._sender.recorded(task_id)

    async def _record_answer(self, task: TaskRecord, answer: Answer) -> None:
        task_id = task.id
        if isinstance(answer, NotSent):
            log.info("task %s: not sent to EggAPI (%s)", task_id, answer.code)
            await self._outcomes.end_without_images(
                task, TaskStatus.SUBMITTING, TaskStatus.REJECTED, answer.code, answer.reason
            )
        elif isinstance(answer, EggTask):
            await self._adopt(task, answer, TaskStatus.SUBMITTING)
        elif isinstance(answer, SubmitOutcomeUnknown):
            log.warning("task %s: submit outcome unknown (%s); reconciling before anything else", task_id, answer.code)
            await self._books.move(task_id, TaskStatus.SUBMITTING, TaskStatus.UNKNOWN, error=answer.code)
            self._board.show(task, Phase.UNCONFIRMED, force=True)
            self._schedule(Step.RECONCILE, task_id, self._config.poll_interval_min)
        elif isinstance(answer, EggAPIUnavailable):  # busy or unreachable, and nothing was created
            if await self._requeue(task, answer):
                return
            log.warning("task %s: EggAPI stayed unavailable for the submit (%s); giving up", task_id, answer.code)
            await self._refused(task, answer)
            self._submit_retries.pop(task_id, None)
        else:
            level = logging.ERROR if answer.code in OPERATOR_ERRORS else logging.WARNING
            log.log(level, "task %s: EggAPI refused the submit (HTTP %s %s)", task_id, answer.status, answer.code)
            await self._refused(task, answer)

    async def _refused(self, task: TaskRecord, exc: EggAPIError) -> None:
        await self._outcomes.end_without_images(
            task, TaskStatus.SUBMITTING, TaskStatus.REJECTED, exc.code, Text(exc.user_key)
        )

    async def _requeue(self, task: TaskRecord, exc: EggAPIError) -> bool:
        """Put a task whose submit was refused for now back in line after a backoff; False when out of tries."""
        attempt = self._submit_retries.get(task.id, 0) + 1
        if attempt >= MAX_SUBMIT_RETRIES:
            return False
        if not await self._books.move(task.id, TaskStatus.SUBMITTING, TaskStatus.QUEUED, submitted_at=None):
            return True
        self._submit_retries[task.id] = attempt  # counted once it is recorded: a replayed answer counts once
        self._line.step_back(task.id)  # not running any more; it rejoins the line after the delay
        delay = max(exc.retry_after or 0.0, self._config.poll_interval_max * 2 ** (attempt - 1))
        log.warning("task %s: EggAPI busy (%s); back in line in %.0f s (try %d)", task.id, exc.code, delay, attempt)
        self._board.show(task, Phase.QUEUED, detail=None, busy=True, force=True)
        self._schedule(Step.REQUEUE, task.id, delay)
        return True

    async def _adopt(self, task: TaskRecord, egg: EggTask, expected: TaskStatus) -> bool:
        try:
            moved = await self._books.move(
                task.id, expected, TaskStatus.RUNNING, egg_task_id=egg.id, upstream_status=egg.status, error=None
            )
        except IntegrityError:
            log.warning("task %s: EggAPI task %s already belongs to another task", task.id, egg.id)
            return False
        if moved:
            log.info("task %s: accepted by EggAPI as %s", task.id, egg.id)
            self._submit_retries.pop(task.id, None)
            self._following.follow(task, egg)
            self._board.show(task, Phase.PENDING, force=True)
            if self._hints.came_early(egg.id):  # its webhook came before the answer: look now
                self._following.hinted(task.id)
        return moved

    # -- poll --------------------------------------------------------------------------------

    async def _poll(self, task_id: int) -> None:
        if await self._following.poll(task_id):
            self._schedule(Step.DELIVER, task_id)

    # -- deliver -----------------------------------------------------------------------------

    async def _deliver(self, task_id: int) -> None:
        retry_in = await self._deliverer.deliver(task_id)
        if retry_in is not None:
            self._schedule(Step.DELIVER, task_id, retry_in)
