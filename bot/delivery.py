"""Delivery: download a finished task's images and have them posted exactly once.

The task is claimed (``completed`` → ``delivering``) before anything is posted, and the post
carries the task's nonce, so a crash between posting and recording the message ids makes
the repeat post a no-op on Discord's side instead of a duplicate.
"""

from __future__ import annotations

import logging

from bot.db.task_store import TaskStore, utcnow
from bot.eggapi import EggAPIClient, EggAPIError
from bot.publishing import DestinationGone, Phase, Progress, Publisher
from bot.tasks import TaskStatus

log = logging.getLogger(__name__)


class Deliverer:
    """Downloads images and posts them through the publisher."""

    def __init__(
        self,
        store: TaskStore,
        client: EggAPIClient,
        publisher: Publisher,
        *,
        max_image_bytes: int,
        max_attempts: int = 5,
        retry_base: float = 2.0,
    ) -> None:
        self._store = store
        self._client = client
        self._publisher = publisher
        self._max_image_bytes = max_image_bytes
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._attempts: dict[int, int] = {}

    async def deliver(self, task_id: int) -> float | None:
        """Try to deliver once; return a delay to try again after, or None when done either way."""
        claimed = await self._store.transition(
            task_id, (TaskStatus.COMPLETED, TaskStatus.DELIVERING), TaskStatus.DELIVERING
        )
        task = await self._store.get(task_id)
        if not claimed or task is None:
            return None
        attempt = self._attempts.get(task_id, 0) + 1
        self._attempts[task_id] = attempt
        try:
            images = [await self._client.download_image(url, max_bytes=self._max_image_bytes) for url in task.output_urls]
        except (EggAPIError, ValueError) as exc:
            log.warning("task %s: downloading images failed (attempt %d): %s", task_id, attempt, type(exc).__name__)
            return await self._retry_or_give_up(
                task_id, attempt, "The images were made but could not be downloaded from EggAPI."
            )
        try:
            message_ids = await self._publisher.deliver(task, images)
        except DestinationGone as exc:
            log.warning("task %s: cannot post in channel %s: %s", task_id, task.channel_id, exc)
            await self._give_up(task_id, f"The images could not be posted in that channel ({exc}).")
            return None
        except Exception:
            log.exception("task %s: posting failed (attempt %d)", task_id, attempt)
            return await self._retry_or_give_up(task_id, attempt, "The images could not be posted in the channel.")
        await self._store.transition(
            task_id,
            TaskStatus.DELIVERING,
            TaskStatus.DELIVERED,
            result_message_ids=message_ids,
            delivered_at=utcnow(),
        )
        self._attempts.pop(task_id, None)
        log.info("task %s: delivered %d image(s) in message(s) %s", task_id, len(images), message_ids)
        await self._show(task_id, Phase.DONE)
        return None

    async def _retry_or_give_up(self, task_id: int, attempt: int, reason: str) -> float | None:
        if attempt >= self._max_attempts:
            await self._give_up(task_id, reason)
            return None
        await self._store.transition(task_id, TaskStatus.DELIVERING, TaskStatus.COMPLETED)
        return self._retry_base * 2 ** (attempt - 1)

    async def _give_up(self, task_id: int, reason: str) -> None:
        self._attempts.pop(task_id, None)
        if not await self._store.transition(task_id, TaskStatus.DELIVERING, TaskStatus.UNDELIVERABLE, error=reason):
            return
        task = await self._show(task_id, Phase.UNDELIVERABLE, reason)
        try:
            await self._publisher.announce_failure(task, reason)
        except Exception:
            log.exception("task %s: could not tell the member the delivery failed", task_id)

    async def _show(self, task_id: int, phase: Phase, detail: str | None = None) -> TaskRecord:
        """Show the task's recorded state in its status message; returns the task as recorded."""
        task = await self._store.get(task_id)
        assert task is not None
        elapsed = ((task.delivered_at or utcnow()) - task.created_at).total_seconds()
        try:
            await self._publisher.show_progress(task, Progress(phase, elapsed, detail))
        except Exception:
            log.exception("task %s: status update failed", task_id)
        return task

