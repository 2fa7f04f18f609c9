"""One worker per key, started on demand: the lanes of the deliverer and of the status board.

Both keep work per destination (a channel, a member's DMs) that must be done one item at a
time there, while other destinations go on. Each owns what waits in its lanes; this helper
owns the workers: it starts one for a key when there is none, forgets it when it returns, and
waits for or cancels them all at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class KeyedLanes(Generic[K]):
    """Runs ``work(key)`` in one task per key; ``work`` returns when its lane is empty."""

    def __init__(self, name: str, work: Callable[[K], Awaitable[None]]) -> None:
        self._name = name
        self._work = work
        self._workers: dict[K, asyncio.Task[None]] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._workers

    def __len__(self) -> int:
        return len(self._workers)

    def kick(self, key: K) -> None:
        """Make sure a worker is draining ``key``'s lane (a running one picks up what was just added)."""
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._run(key), name=f"eggbot-{self._name}-{key}")

    async def _run(self, key: K) -> None:
        try:
            await self._work(key)
        finally:
            # No await between the work's end and this: nothing can be added to the lane unseen.
            del self._workers[key]

    async def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for every worker, including ones started meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._workers and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._workers.values()), timeout=left)

    async def cancel(self) -> None:
        """Stop every worker now."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
