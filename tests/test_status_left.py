"""Which status messages a restart tidies away: those of jobs delivered in the last day only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.lifecycle.model import ImagineRequest, TaskStatus
from bot.lifecycle.task_store import TaskStore
from testkit.backends import Backend

PATH = (TaskStatus.QUEUED, TaskStatus.SUBMITTING, TaskStatus.RUNNING, TaskStatus.COMPLETED, TaskStatus.DELIVERING)


async def test_only_recently_delivered_jobs_have_their_status_message_tidied(backend: Backend) -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    async with await backend.open() as db:
        store = TaskStore(db, clock=lambda: now)
        ids = []
        for age_hours, status_message in ((30, 111), (2, 222), (1, None)):
            task = await store.create(ImagineRequest(guild_id=1, channel_id=2, member_id=3, prompt="a fox"))
            await store.update(task.id, status_message_id=status_message)
            for old, new in zip(PATH, (*PATH[1:], TaskStatus.DELIVERED), strict=True):
                assert await store.transition(task.id, old, new)
            await store.update(task.id, delivered_at=now - timedelta(hours=age_hours))
            ids.append(task.id)
        left = await store.list_status_left()
    assert [task.id for task in left] == [ids[1]]  # a day old and more: left alone; no message: nothing to do
