"""Status messages, seen from the core: what each job's message should say, edited without blocking.

The tracker and the deliverer say what a task's status is; the board decides whether that is
worth an edit and sends it through one lane per channel. A message is edited only when what it
says changes (its phase, its place in line, EggAPI being busy): the time since the job was asked
for is a live Discord timestamp the member's app updates by itself, so nothing is edited to tick
a clock. A lane waits ``settle`` seconds for more changes, then edits each waiting message once
with its newest text, one edit at a time, and at most ``EDITS_PER_WINDOW`` per ``edit_interval``
seconds in one channel (Discord allows about five writes per five seconds there, posts included).
So a job that passes through several phases quickly is edited once, a busy channel's edits never
pile up (a waiting edit is only replaced by a newer one), and Discord slowing a channel's edits
slows that lane, never the tracker, the deliveries or the acknowledgement of new commands.

Once a result is posted its status message is removed through the same lane (after any edit
already queued for it), so a job leaves one message in the channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.clock import utcnow
from bot.lifecycle._lanes import KeyedLanes
from bot.lifecycle.foreground import Foreground
from bot.lifecycle.model import TaskRecord
from bot.lifecycle.ports import Phase, Progress, Publisher
from bot.rates import RateWindow

log = logging.getLogger(__name__)

EDITS_PER_WINDOW = 3  # status edits per ``edit_interval`` in one channel (removals do not count)

Removed = Callable[[int], Awaitable[None]]
"""Told the id of a task whose status message is gone, to record it (so a restart does not try again)."""


@dataclass(slots=True)
class _Shown:
    look: tuple[Phase, str | None, bool] | None = None  # phase, detail, busy: what the message says


class StatusBoard:
    """Status edits when something changes, coalesced and budgeted, through the publisher, one lane per channel."""

    def __init__(
        self,
        edit_interval: float,
        publisher: Publisher,
        *,
        settle: float = 0.25,
        foreground: Foreground | None = None,
        on_removed: Removed | None = None,
    ) -> None:
        self._edit_interval = edit_interval
        self._settle = min(settle, edit_interval)  # never wait longer than a refresh would
        self._publisher = publisher
        self._followed: dict[int, _Shown] = {}
        # channel -> task id -> the newest text of its waiting edit (None: remove the message); a newer
        # text keeps the task's place
        self._lanes: dict[int, dict[int, tuple[TaskRecord, Progress | None]]] = {}
        self._budgets: dict[int, RateWindow] = {}  # channel -> its edits lately
        self._closed: set[int] = set()  # tasks whose status message the board no longer edits
        self._in_flight: dict[int, asyncio.Event] = {}  # task id -> set when its edit under way has ended
        self._on_removed = on_removed
        self._workers = KeyedLanes("status", self._run)
        self._flushing = asyncio.Event()
        self._foreground = foreground or Foreground()

    @property
    def waiting(self) -> int:
        """Edits and removals waiting in the lanes (for the benchmark and health)."""
        return sum(len(lane) for lane in self._lanes.values())

    def follow(self, task_id: int) -> None:
        """Edit this task's message on routine updates only when they change it (it is running upstream)."""
        self._followed.setdefault(task_id, _Shown())

    def following(self, task_id: int) -> bool:
        """Whether the task is being followed (running upstream, polled by this process)."""
        return task_id in self._followed

    def forget(self, task_id: int) -> None:
        """The task stopped running: no more throttling state for it."""
        self._followed.pop(task_id, None)

    def show(
        self, task: TaskRecord, phase: Phase, *, detail: str | None = None, busy: bool = False, force: bool = False
    ) -> None:
        """Queue an edit: always when forced, else for a followed task whose message would read differently."""
        if task.id in self._closed:
            return
        shown = self._followed.get(task.id)
        if shown is None and not force:
            return  # a routine update of a task no longer running (a late poll): it would undo a newer phase
        look = (phase, detail, busy)
        if shown is not None and not force and shown.look == look:
            return  # nothing changed: no clock to tick
        if shown is not None:
            shown.look = look
        elapsed = ((task.delivered_at or utcnow()) - task.created_at).total_seconds()
        self._lanes.setdefault(task.channel_id, {})[task.id] = (task, Progress(phase, elapsed, detail, busy))
        self._workers.kick(task.channel_id)

    def remove(self, task: TaskRecord) -> None:
        """Queue the removal of the task's status message (its result is posted); no edit follows it."""
        self.forget(task.id)
        if task.status_message_id is None or task.id in self._closed:
            return
        self._closed.add(task.id)
        self._lanes.setdefault(task.channel_id, {})[task.id] = (task, None)
        self._workers.kick(task.channel_id)

    async def release(self, task: TaskRecord) -> None:
        """Stop editing the task's status message (it is about to say how the job ended, once).

        Drops the edit waiting for it and waits for one under way, so none lands after that word.
        """
        self.forget(task.id)
        self._closed.add(task.id)
        self._lanes.get(task.channel_id, {}).pop(task.id, None)
        in_flight = self._in_flight.get(task.id)
        if in_flight is not None:
            await in_flight.wait()

    async def drain(self, grace: float) -> None:
        """Send what is waiting without settling, for up to ``grace`` seconds; then stop the lanes."""
        self._flushing.set()
        await self._workers.wait(grace)
        await self._workers.cancel()

    async def _run(self, channel_id: int) -> None:
        lane = self._lanes[channel_id]
        try:
            while lane:
                if not self._flushing.is_set():
                    try:  # let quick successions of changes collapse into one edit
                        await asyncio.wait_for(self._flushing.wait(), self._settle)
                    except TimeoutError:
                        pass
                while lane:
                    await self._foreground.turn()
                    task_id = await self._next_in(channel_id, lane)
                    if task_id is None:
                        continue  # what waited was replaced or dropped meanwhile
                    task, progress = lane.pop(task_id)  # the newest, even if it came while waiting
                    self._in_flight[task_id] = ended = asyncio.Event()
                    try:
                        if progress is None:
                            await self._remove(task)
                        else:
                            await self._publisher.show_progress(task, progress)
                    except Exception:
                        log.exception("task %s: status update failed", task_id)
                    finally:
                        ended.set()
                        del self._in_flight[task_id]
        finally:
            if not lane:
                del self._lanes[channel_id]

    async def _next_in(self, channel_id: int, lane: dict[int, tuple[TaskRecord, Progress | None]]) -> int | None:
        """The task whose message goes next: a removal at once, else the oldest edit once the channel's budget allows.

        While an edit waits for the budget, newer texts replace it in the lane (it keeps its place).
        """
        removal = next((task_id for task_id, (_, progress) in lane.items() if progress is None), None)
        if removal is not None or self._flushing.is_set():
            return removal if removal is not None else next(iter(lane))
        loop = asyncio.get_running_loop()
        budget = self._budgets.setdefault(channel_id, RateWindow(EDITS_PER_WINDOW, self._edit_interval))
        wait = budget.next_at(loop.time()) - loop.time()
        if wait > 0:
            try:  # a shutdown's drain sends what is waiting at once
                await asyncio.wait_for(self._flushing.wait(), wait)
            except TimeoutError:
                pass
            return None  # look again: a removal may have come, or the edit been dropped
        budget.grant(loop.time())
        return next(iter(lane))

    async def _remove(self, task: TaskRecord) -> None:
        try:
            if not await self._publisher.remove_status(task):
                return  # still there: the next start tries again
            if self._on_removed is not None:
                await self._on_removed(task.id)
        finally:
            self._closed.discard(task.id)
