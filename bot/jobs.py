"""Creating jobs: validate a request and record it before anything reaches EggAPI."""

from __future__ import annotations

import logging

from bot.db import Database
from bot.db.task_store import TaskStore
from bot.tasks import ImagineRequest, TaskRecord, TaskStatus, validate_request

log = logging.getLogger(__name__)


class JobService:
    """The entry point the /imagine command calls."""

    def __init__(self, db: Database, store: TaskStore) -> None:
        self._db = db
        self._store = store

    async def create(self, request: ImagineRequest) -> TaskRecord:
        """Validate and record a queued task; raises InvalidRequest and records nothing on bad input."""
        clean = validate_request(request)
        async with self._db.write() as tx:
            task_id = await self._store.insert(tx, clean)
        task = await self._store.get(task_id)
        assert task is not None
        log.info("task %s queued for member %s in channel %s", task.id, task.member_id, task.channel_id)
        return task

    async def withdraw(self, task_id: int) -> bool:
        """Cancel a queued task the member never saw acknowledged; False if it had moved on."""
        return await self._store.transition(task_id, TaskStatus.QUEUED, TaskStatus.CANCELLED)

    async def attach_status_message(self, task_id: int, message_id: int) -> None:
        """Remember which message shows the task's progress."""
        await self._store.update(task_id, status_message_id=message_id)
