"""SimulatedEggAPI: the fake EggAPI set up for the playground: real pictures, in a few real seconds.

The test fake answers instantly and serves 8 x 8 PNGs, which suits tests and nobody else. This
variant speaks the same documented API (it *is* a :class:`FakeEggAPI`, every control and waiter
still works) but behaves like the service as a newcomer would see it:

* Time drives each task, not polls: ``pending`` for the first fifth of its duration, then
  ``processing`` (reference images are downloaded then, as the fake always does), then its outcome
  once the duration has passed. The duration is drawn from ``seconds`` (a range, or one number)
  by a hash of the prompt, so one prompt always takes as long. Polling and webhooks both work.
* Each output is a real PNG drawn by :mod:`testkit.fake_eggapi.render` from the prompt, the
  image's index, the aspect ratio (16:9 or 9:16) and the resolution (1k, 2k, 4k: 1024, 2048 or
  4096 px on the long side; 1k when absent). References of an edit tint the picture and are
  pasted on it. Pictures are rendered off the event loop while the task is processing, and kept
  (the last ``CACHE_SIZE`` images) so downloads are instant.
* Costs are EggAPI's price, $0.0100 per image produced; failed tasks cost $0.00; the usage
  summary adds up.
* ``api_key=None`` (the default) accepts any non-empty Bearer key; ``.api_key`` is then a
  suggestion to give the bot. With a key, only that key is accepted.

Prompt triggers (case-insensitive, whole words, anywhere in the prompt), so a moderator can see
how the bot explains each documented failure:

* ``nsfw`` or ``prohibited``: the task is accepted, then fails after its duration with
  ``"Content moderation: prompt contains prohibited content"`` (cost $0.00).
* ``out of credit``: the submit is refused with 403 ``INSUFFICIENT_BALANCE``.
* ``server busy``: the submit is refused with 429 ``RATE_LIMITED`` and ``Retry-After``
  (``retry_after`` seconds), ``busy_refusals`` times in a row for that prompt (default 6, one more
  than the bot's client tries, so the bot puts the job back in line once), then accepted;
  ``busy_refusals=None`` refuses it every time.

A plan queued with ``plan_next`` still wins over all of this (see :mod:`testkit.fake_eggapi`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sys
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .models import FakeTask, TaskPlan
from .render import Picture, render_png
from .server import FakeEggAPI, _envelope

log = logging.getLogger(__name__)

PLAYGROUND_KEY = "playground-key"
MODERATION_ERROR = "Content moderation: prompt contains prohibited content"
MODERATION = re.compile(r"\b(nsfw|prohibited)\b", re.IGNORECASE)
OUT_OF_CREDIT = re.compile(r"\bout\s+of\s+credits?\b", re.IGNORECASE)
BUSY = re.compile(r"\bserver\s+busy\b", re.IGNORECASE)
PENDING_SHARE = 0.2  # the share of a task's duration spent pending
CACHE_SIZE = 64  # rendered images kept; an evicted one is drawn again (the same bytes) if asked for
NEVER = sys.maxsize  # polls_until_processing of simulated plans: polls never move them


class SimulatedEggAPI(FakeEggAPI):
    """A FakeEggAPI that takes a few seconds per task and serves real pictures. See the module docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        webhook_secret: str | None = None,
        seconds: float | tuple[float, float] = (3.0, 6.0),
        busy_refusals: int | None = 6,
        retry_after: int = 1,
        render_workers: int = 2,
    ) -> None:
        super().__init__(api_key=api_key or PLAYGROUND_KEY, webhook_secret=webhook_secret, host=host, port=port)
        low, high = (seconds, seconds) if isinstance(seconds, int | float) else seconds
        if not 0 < low <= high:
            raise ValueError("seconds must be positive, and a range must be (shortest, longest)")
        self.any_key = api_key is None
        self.seconds = (float(low), float(high))
        self.busy_refusals = busy_refusals
        self.retry_after = retry_after
        self._busy_counts: dict[str, int] = {}
        self._starts: dict[str, asyncio.Task[None]] = {}
        self._renders: OrderedDict[tuple[str, int], asyncio.Task[bytes]] = OrderedDict()
        self._render_slots = asyncio.Semaphore(render_workers)

    async def __aenter__(self) -> SimulatedEggAPI:
        await self.start()
        return self

    def duration_for(self, prompt: str) -> float:
        """How long a task with this prompt takes, from ``seconds`` (the same prompt, the same time)."""
        low, high = self.seconds
        share = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big") / 2**32
        return round(low + (high - low) * share, 3)

    def picture(self, task: FakeTask, index: int) -> Picture:
        """What output ``index`` of ``task`` shows (its references once they are downloaded)."""
        body = task.request
        return Picture(
            prompt=str(body.get("prompt") or ""),
            index=index,
            count=self._image_count(task),
            aspect_ratio=str(body.get("aspect_ratio") or "16:9"),
            resolution=str(body.get("resolution") or "1k"),
            negative_prompt=str(body.get("negative_prompt") or ""),
            references=tuple(task.inputs),
        )

    # ------------------------------------------------------------------ hooks of FakeEggAPI

    def _check_auth(self, header: str | None) -> web.Response | None:
        if self.any_key and header is not None:
            scheme, _, token = header.partition(" ")
            if scheme == "Bearer" and token.strip():
                return None
        return super()._check_auth(header)

    def _refusal(self, body: dict[str, Any]) -> web.Response | None:
        refusal = super()._refusal(body)
        prompt = str(body.get("prompt") or "")
        if refusal is None and OUT_OF_CREDIT.search(prompt):
            log.info("simulated EggAPI: refusing a submit for lack of credit (prompt trigger)")
            refusal = _envelope(status=403, code="INSUFFICIENT_BALANCE", message="Insufficient balance")
        if refusal is None and BUSY.search(prompt):
            refused = self._busy_counts.get(prompt, 0)
            if self.busy_refusals is None or refused < self.busy_refusals:
                self._busy_counts[prompt] = refused + 1
                log.info("simulated EggAPI: busy, refusing a submit (%d so far for this prompt)", refused + 1)
                refusal = _envelope(status=429, code="RATE_LIMITED", message="Too many requests")
                refusal.headers["Retry-After"] = str(self.retry_after)
            else:
                self._busy_counts.pop(prompt, None)  # accepted; the next submit is refused again
        return refusal

    def _plan_for(self, body: dict[str, Any]) -> TaskPlan:
        if self._plans:
            return super()._plan_for(body)
        prompt = str(body.get("prompt") or "")
        failed = MODERATION.search(prompt) is not None
        return TaskPlan(
            outcome="failed" if failed else "completed",
            error=MODERATION_ERROR,
            duration=self.duration_for(prompt),
            polls_until_processing=NEVER,
        )

    def _on_created(self, task: FakeTask) -> None:
        super()._on_created(task)
        duration = task.plan.duration
        if duration is None or task.plan.hold:
            return
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(duration * PENDING_SHARE, self._begin, task.id))
        outputs = self._image_count(task)
        log.info(
            "simulated EggAPI: task %s accepted, %s in %.1f s (%d image(s))",
            task.id,
            task.plan.outcome,
            duration,
            outputs,
        )

    async def _finish_on_time(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is not None and not task.is_terminal and not task.plan.hold:
            await self._begin(task.id)  # if the start timer has not run (or is still downloading)
            if not task.is_terminal and task.plan.outcome == "completed":
                renders = [self._render(task, i) for i in range(self._image_count(task))]
                await asyncio.gather(*renders, return_exceptions=True)  # completed = files ready
        await super()._finish_on_time(task_id)

    async def _file_bytes(self, task: FakeTask, index: int) -> bytes:
        return await asyncio.shield(self._render(task, index))  # a dropped download does not cancel it

    # ------------------------------------------------------------------ internals

    def _image_count(self, task: FakeTask) -> int:
        return task.plan.images if task.plan.images is not None else task.num_outputs

    def _begin(self, task_id: str) -> asyncio.Task[None]:
        """The start of a task, run once (by its timer or, if late, by its finish)."""
        start = self._starts.get(task_id)
        if start is None:
            start = asyncio.get_running_loop().create_task(self._start(self.tasks[task_id]))
            self._background.add(start)
            start.add_done_callback(self._background.discard)
            start.add_done_callback(lambda _: self._starts.pop(task_id, None))
            self._starts[task_id] = start
        return start

    async def _start(self, task: FakeTask) -> None:
        """pending -> processing, download the references, begin drawing the outputs."""
        if task.status != "pending":
            return
        task.status = "processing"
        task.started_at = task.started_at or datetime.now(UTC)
        self._notify()
        await self._fetch_inputs(task)
        if not task.is_terminal and task.plan.outcome == "completed":
            for index in range(self._image_count(task)):
                self._render(task, index)

    def _render(self, task: FakeTask, index: int) -> asyncio.Task[bytes]:
        """The drawing of output ``index`` (started now if it was not already, kept in the cache)."""
        key = (task.id, index)
        render = self._renders.get(key)
        if render is not None and not render.cancelled():
            self._renders.move_to_end(key)
            return render
        render = asyncio.get_running_loop().create_task(self._draw(self.picture(task, index), task.id))
        self._background.add(render)
        render.add_done_callback(self._background.discard)
        self._renders[key] = render
        while len(self._renders) > CACHE_SIZE:
            self._renders.popitem(last=False)
        return render

    async def _draw(self, picture: Picture, task_id: str) -> bytes:
        async with self._render_slots:
            began = time.perf_counter()
            data = await asyncio.to_thread(render_png, picture)
        log.debug(
            "simulated EggAPI: drew %s image %d (%s %s) in %.0f ms, %d bytes",
            task_id,
            picture.index,
            picture.aspect_ratio,
            picture.resolution,
            (time.perf_counter() - began) * 1000,
            len(data),
        )
        return data
