"""Sending a queued task to EggAPI at most once, and keeping EggAPI's answer until it is recorded.

Carved out of ``tracker``, whose submit step records the answer in the task's state. Before the
POST: a place in everyone's running caps (``Bookkeeper.begin_submit``; without one the task waits
in line), the reference links read afresh (``Remakes.before_submit``), and a refusal of our own
when they (nearly) expired while the task waited. Until the answer is recorded it is kept here:
if recording fails (say, the database is locked), the scheduler retries the step, which records
the same answer again instead of posting twice or leaving a paid task stranded in 'submitting'.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.clock import utcnow
from bot.eggapi import MODEL, EggAPIClient, EggAPIError, EggTask, GenerateRequest
from bot.i18n import Text
from bot.lifecycle._dispatch import Dispatcher
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.references import EXPIRED_REFS, ReferenceCheck
from bot.lifecycle.transitions import Bookkeeper, RunningCaps, Start


@dataclass(frozen=True, slots=True)
class NotSent:
    """The bot's own refusal of a submit, recorded like EggAPI's answers are (replayed if recording fails)."""

    code: str
    reason: Text


Answer = EggTask | EggAPIError | NotSent


class Sender:
    """Posts each task once; its answer is kept until ``recorded``."""

    def __init__(
        self,
        books: Bookkeeper,
        client: EggAPIClient,
        caps: RunningCaps,
        references: ReferenceCheck,
        line: Dispatcher,
        *,
        webhook_url: str | None,
        refresh: Callable[[TaskRecord], Awaitable[TaskRecord]] | None = None,
    ) -> None:
        self._books = books
        self._client = client
        self._caps = caps
        self._references = references
        self._line = line
        self._webhook_url = webhook_url
        self._refresh = refresh  # Remakes.before_submit
        self._answers: dict[int, Answer] = {}  # POST answers not recorded yet

    async def answer(self, task: TaskRecord) -> tuple[TaskRecord, Answer] | None:
        """The task (read afresh when it was sent now) and the answer to record; None when there is none.

        None: the task is no longer queued (cancelled by its member, say), it got no place in the
        running caps (it waits in line), or its kept answer was recorded meanwhile.
        """
        task_id = task.id
        answer = self._answers.get(task_id)
        if answer is None:
            if task.status is not TaskStatus.QUEUED:
                self._line.drop(task_id)  # moved on elsewhere (cancelled by its member, say): out of line
                return None
            start = await self._books.begin_submit(task_id, task.member_id, self._caps, submitted_at=utcnow())
            if start is not Start.STARTED:  # no room in everyone's count (it waits), or gone
                self._line.not_started(task_id, start)
                return None
            if self._refresh is not None:  # links to posted images that expired while it waited: read afresh
                task = await self._refresh(task)
            if self._references.usable(task.reference_urls):
                answer = self._answers[task_id] = await self._post(task)
            else:  # waited in line until the links (nearly) expired: refused before EggAPI
                answer = self._answers[task_id] = NotSent(*EXPIRED_REFS)
        elif task.status is not TaskStatus.SUBMITTING:
            self._answers.pop(task_id, None)  # recorded meanwhile
            return None
        return task, answer

    def recorded(self, task_id: int) -> None:
        """The task's answer is in its state now: never replayed again."""
        self._answers.pop(task_id, None)

    async def _post(self, task: TaskRecord) -> EggTask | EggAPIError:
        """Send the task to EggAPI once; its answer, or the error that says what happened to it."""
        request = GenerateRequest(
            prompt=task.prompt,
            negative_prompt=task.negative_prompt,
            aspect_ratio=task.aspect_ratio,
            num_outputs=task.count,
            resolution=task.resolution,
            image_urls=task.reference_urls,
            webhook_url=self._webhook_url,
            model=MODEL,
        )
        try:
            return await self._client.generate(request)
        except EggAPIError as exc:
            return exc
