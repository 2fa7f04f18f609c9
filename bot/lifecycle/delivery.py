"""Delivery: download a finished task's images and have them posted exactly once.

The task is claimed (``completed`` → ``delivering``) before anything is posted. Each post goes
through a lane per destination (a channel, or a member's DMs for hidden jobs): while a lane is
busy (a chat channel takes only a few messages every few seconds), the results waiting behind
it are merged into one message, up to the publisher's file limit. Before a post, its tasks are
bound to one post key in the database; the post carries that key, so a crash (or a lost
answer) between posting and recording the message ids makes the repeat, by the same group,
a no-op on the platform's side instead of a duplicate. A result too large for one message is
posted part by part, each part recorded as soon as it is posted, so a repeat posts only what is
missing; the task is delivered once every part is in the channel. A repeat also looks through
the destination's history since the task finished for the bot's own earlier posts (the key
protects only for a few minutes). Once delivered, the task's status message is removed (best
effort, after the record: a restart removes one that is still there).

With several bot processes, the claim is fenced by the task's lease (``Bookkeeper.fenced``) and
each post is preceded by ``fence``, which renews the leases of the post's tasks in the database:
a process that lost them meanwhile posts nothing and leaves them to the process that holds them."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.clock import utcnow
from bot.eggapi import DownloadedImage, EggAPIClient, EggAPIError
from bot.i18n import Text, texts
from bot.lifecycle._lanes import KeyedLanes
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.ports import DestinationGone, PostedImages, Publisher
from bot.lifecycle.result_parts import plan_parts, unposted
from bot.lifecycle.status_board import StatusBoard
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper

log = logging.getLogger(__name__)

LaneKey = tuple[str, int]
DeliveryListener = Callable[[TaskRecord, Sequence[int]], None]
"""Told of each task delivered, with the message ids of its result (the mod-log); must not raise or wait."""
Fence = Callable[[Sequence[int]], Awaitable[bool]]
"""Whether this process still holds the leases of these tasks, renewed in the database (``Leases.confirm``)."""
DOWNLOAD_FAILED = Text("service.download_failed")
NOT_POSTED = Text("delivery.not_posted")


def _stored(reason: str) -> Text | str:
    """A stored reason: the catalogue text its key names, or the words themselves (stored before keys)."""
    return Text(reason) if texts(None).has(reason) else reason


@dataclass(eq=False)
class _Parcel:
    """One task's downloaded images waiting in a lane."""

    task: TaskRecord
    images: list[DownloadedImage]
    done: asyncio.Future[float | None]

    @property
    def size(self) -> int:
        return sum(len(image.data) for image in self.images)


class _DownloadFailed(Exception):
    """An image could not be fetched from EggAPI's file host."""


def _resolve(parcels: list[_Parcel], *, result: float | None = None, error: BaseException | None = None) -> None:
    for parcel in parcels:
        if parcel.done.done():
            continue
        if error is not None:
            parcel.done.set_exception(error)
        else:
            parcel.done.set_result(result)


def lane_key(task: TaskRecord) -> LaneKey:
    """Where the task's result goes: its channel, or the member's DMs when hidden."""
    return ("dm", task.member_id) if task.hidden else ("channel", task.channel_id)


def group_key(tasks: list[TaskRecord]) -> str:
    """The idempotency key of one post carrying these tasks' results (at most 25 characters)."""
    return tasks[0].post_key if len(tasks) == 1 else f"{tasks[0].post_key}g{len(tasks)}"


class Deliverer:
    """Downloads images and posts them through the publisher, merging results when a channel is busy."""

    def __init__(
        self,
        store: TaskStore,
        books: Bookkeeper,
        client: EggAPIClient,
        publisher: Publisher,
        board: StatusBoard,
        *,
        max_image_bytes: int,
        max_attempts: int = 5,
        retry_base: float = 2.0,
        busy_window: float = 5.0,
        busy_posts: int = 3,
        merge_delay: float = 0.25,
        on_delivered: DeliveryListener | None = None,
        fence: Fence | None = None,
    ) -> None:
        self._store = store
        self._books = books
        self._client = client
        self._publisher = publisher
        self._board = board
        self._max_image_bytes = max_image_bytes
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._attempts: dict[int, int] = {}
        self._lanes: dict[LaneKey, deque[_Parcel]] = {}
        self._workers = KeyedLanes("lane", self._drain)
        self._recent_posts: dict[LaneKey, deque[float]] = {}
        self._busy_window = busy_window
        self._busy_posts = busy_posts
        self._merge_delay = merge_delay
        self._on_delivered = on_delivered
        self._fence = fence

    async def deliver(self, task_id: int) -> float | None:
        """Try to deliver once; return a delay to try again after, or None when done either way."""
        claimed = await self._books.move(task_id, (TaskStatus.COMPLETED, TaskStatus.DELIVERING), TaskStatus.DELIVERING)
        task = await self._store.get(task_id)
        if not claimed or task is None:
            return None
        if task.delivery_nonce is not None:
            return await self._repeat(task)
        try:
            images = await self._download(task)
        except _DownloadFailed:
            return await self._failed([task], DOWNLOAD_FAILED)
        limit, max_files = self._publisher.upload_limit(task), self._publisher.max_files_per_message
        if task.rerouted or len(images) > max_files or sum(len(i.data) for i in images) > limit:
            return await self._post([task], {task.id: images})  # posted alone: fitted, split, or with a note
        parcel = _Parcel(task, images, asyncio.get_running_loop().create_future())
        key = lane_key(task)
        self._lanes.setdefault(key, deque()).append(parcel)
        self._workers.kick(key)
        return await parcel.done

    async def close(self) -> None:
        """Stop the lane workers (their tasks stay ``delivering`` and are repeated at the next start)."""
        await self._workers.cancel()

    async def _drain(self, key: LaneKey) -> None:
        """Post what waits in a lane, merging everything that fits into one message each time."""
        lane = self._lanes[key]
        loop = asyncio.get_running_loop()
        batch: list[_Parcel] = []
        try:
            while lane:
                if self._busy(key, loop.time()):
                    # Close to Discord's ~5 posts per 5 s in this channel: let results finishing at
                    # the same moment join this post rather than wait for the limit to refill.
                    await asyncio.sleep(self._merge_delay)
                self._recent_posts.setdefault(key, deque()).append(loop.time())
                batch = [lane.popleft()]
                limit = self._publisher.upload_limit(batch[0].task)
                max_files = self._publisher.max_files_per_message
                files, size = len(batch[0].images), batch[0].size
                while lane and files + len(lane[0].images) <= max_files and size + lane[0].size <= limit:
                    files, size = files + len(lane[0].images), size + lane[0].size
                    batch.append(lane.popleft())
                try:
                    result = await self._post([p.task for p in batch], {p.task.id: p.images for p in batch})
                except Exception as exc:
                    _resolve(batch, error=exc)
                else:
                    _resolve(batch, result=result)
                batch = []
        finally:
            # Whatever stopped the worker, nobody is left waiting on a parcel it took or still holds.
            _resolve(batch + list(lane), error=asyncio.CancelledError())
            lane.clear()
            self._lanes.pop(key, None)

    def _busy(self, key: LaneKey, now: float) -> bool:
        """Whether the destination had ``busy_posts`` posts within the last ``busy_window`` seconds."""
        posts = self._recent_posts.get(key)
        if posts is None:
            return False
        while posts and now - posts[0] > self._busy_window:
            posts.popleft()
        if not posts:
            del self._recent_posts[key]
        return len(posts) >= self._busy_posts

    async def _repeat(self, task: TaskRecord) -> float | None:
        """Post again exactly what was posted (or tried) before, under the same key; the group's first task does it."""
        assert task.delivery_nonce is not None
        group = await self._store.list_by_delivery_nonce(task.delivery_nonce)
        posted = next((member for member in group if member.status is TaskStatus.DELIVERED), None)
        if posted is not None:  # the post went out and part of the group was recorded before a crash
            await self._record(group, list(posted.result_message_ids))
            return None
        unfinished = [m for m in group if m.status in (TaskStatus.COMPLETED, TaskStatus.DELIVERING)]
        if not unfinished or task.id != unfinished[0].id:
            return None  # the group's first unfinished task posts for all of them
        since = min(member.finished_at or member.created_at for member in unfinished)
        found = await self._publisher.find_posted(unfinished, since)
        if len(unfinished) == 1:
            await self._keep_found(unfinished[0], found)  # then only the missing parts are posted
        elif all((m.id, i) in found for m in unfinished for i in range(len(m.output_urls))):
            already = sorted(set(found.values()))  # the merged post went out before the crash or lost answer
            log.info("tasks %s: found already posted in %s", [t.id for t in unfinished], already)
            await self._record(unfinished, already)
            return None
        try:
            images = {member.id: await self._download(member) for member in unfinished}
        except _DownloadFailed:
            return await self._failed(unfinished, DOWNLOAD_FAILED)
        return await self._post(unfinished, images)

    async def _download(self, task: TaskRecord) -> list[DownloadedImage]:
        try:
            return [await self._client.download_image(url, max_bytes=self._max_image_bytes) for url in task.output_urls]
        except (EggAPIError, ValueError) as exc:
            log.warning("task %s: downloading images failed: %s", task.id, type(exc).__name__)
            raise _DownloadFailed from exc

    async def _post(self, group: list[TaskRecord], images: dict[int, list[DownloadedImage]]) -> float | None:
        """One post for the group, bound to its key first; returns a retry delay or None."""
        if self._fence is not None and not await self._fence([task.id for task in group]):
            return 0.0  # a lease went to another process: the tasks still ours are delivered again, alone
        key = group[0].delivery_nonce or group_key(group)
        await self._store.bind_delivery_nonce([task.id for task in group], key)
        try:
            if len(group) == 1:
                message_ids = await self._post_parts(group[0], images[group[0].id])
            else:
                message_ids = await self._publisher.deliver_batch(group, images, key)
        except DestinationGone as exc:
            log.warning("tasks %s: cannot post: %s", [t.id for t in group], exc)
            return await self._reroute(group, str(exc))
        except Exception:
            log.exception("tasks %s: posting failed", [t.id for t in group])
            return await self._failed(group, NOT_POSTED)
        await self._record(group, message_ids)
        return None

    async def _reroute(self, group: list[TaskRecord], reason: str) -> float | None:
        """The destination cannot take the post: send the images the other way, or give up if that failed too.

        ``reason`` is the catalogue key of why (``delivery.gone.*``), stored with the task for its notes.

        A lost channel sends them to the member by DM; closed DMs (a hidden job) post them in the
        channel. Either way the member gets what was paid for, with a word on why it is there.
        """
        moved = [task for task in group if await self._store.reroute(task.id, hidden=not task.hidden, reason=reason)]
        for task in group:
            if task not in moved:  # already rerouted: neither way works
                why = _stored(reason)
                if task.rerouted is not None:
                    why = Text("delivery.both", first=_stored(task.rerouted), second=why)
                await self._give_up([task], Text("delivery.not_posted_because", why=why))
        if not moved:
            return None
        where = "channel" if moved[0].hidden else "DMs"
        log.info("tasks %s: delivering to the %s instead", [t.id for t in moved], where)
        return 0.0  # each one is delivered again on its own, to its new destination

    async def _keep_found(self, task: TaskRecord, found: PostedImages) -> None:
        """Record the images of ``task`` that the history shows were posted already."""
        by_message: dict[int, list[int]] = {}
        for (task_id, index), message_id in found.items():
            if task_id == task.id:
                by_message.setdefault(message_id, []).append(index)
        for message_id, indexes in by_message.items():
            log.info("task %s: images %s found already posted in %s", task.id, indexes, message_id)
            await self._store.record_posted(task.id, message_id, indexes)

    async def _post_parts(self, task: TaskRecord, images: list[DownloadedImage]) -> list[int]:
        """Post each part not yet posted, recording each as it goes; return every message of the result."""
        posted = await self._store.posted_images(task.id)
        limit = self._publisher.upload_limit(task)
        max_files = self._publisher.max_files_per_message
        parts = await asyncio.to_thread(plan_parts, task, images, limit, max_files)  # Pillow work off the loop
        for part in parts:
            todo = unposted(task, part, posted)
            if todo is None:
                continue
            message_id = await self._publisher.deliver(task, todo)
            covered = todo.indexes + todo.links
            await self._store.record_posted(task.id, message_id, covered)
            posted.update(dict.fromkeys(covered, message_id))
        return sorted(set(posted.values()))

    async def _record(self, group: list[TaskRecord], message_ids: list[int]) -> None:
        """Mark the group delivered in the message(s) posted for it."""
        for task in group:
            self._attempts.pop(task.id, None)
            if await self._books.move(
                task.id,
                TaskStatus.DELIVERING,
                TaskStatus.DELIVERED,
                result_message_ids=message_ids,
                delivered_at=utcnow(),
            ):
                delivered = await self._store.get(task.id)
                assert delivered is not None
                self._board.remove(delivered)  # the result is the job's message now; never waited for
                self._tell_listener(delivered, message_ids)
        log.info("tasks %s: delivered in message(s) %s", [t.id for t in group], message_ids)

    def _tell_listener(self, task: TaskRecord, message_ids: list[int]) -> None:
        if self._on_delivered is None:
            return
        try:
            self._on_delivered(task, message_ids)
        except Exception:  # a listener never undoes a delivery
            log.exception("task %s: the delivery listener failed", task.id)

    async def _failed(self, group: list[TaskRecord], reason: Text) -> float | None:
        """A transient failure: try again later (the same group, the same key), or give up."""
        attempt = self._attempts.get(group[0].id, 0) + 1
        self._attempts[group[0].id] = attempt
        if attempt >= self._max_attempts:
            await self._give_up(group, reason)
            return None
        return self._retry_base * 2.0 ** (attempt - 1)

    async def _give_up(self, group: list[TaskRecord], reason: Text) -> None:
        error = texts(None).render(reason)  # the task's record, for operators: in English
        for task in group:
            self._attempts.pop(task.id, None)
            if not await self._books.move(
                task.id, (TaskStatus.DELIVERING, TaskStatus.COMPLETED), TaskStatus.UNDELIVERABLE, error=error
            ):
                continue
            recorded = await self._store.get(task.id)
            assert recorded is not None
            await self._board.release(recorded)
            try:
                await self._publisher.announce_failure(recorded, reason)
            except Exception:
                log.exception("task %s: could not tell the member the delivery failed", task.id)
