"""Answering members comes first: background work waits while interactions are being acknowledged.

Discord fails an interaction that is not acknowledged within 3 s, while a poll, a submit or a
status edit that starts a few milliseconds late harms nobody. They all share one event loop, so
the cogs mark the time they spend acknowledging (``answering()``), and the tracker's steps and
the status board wait for ``turn()`` before each unit of work: at once when nobody is being
answered, otherwise until the answers are sent, never longer than ``max_wait``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress

log = logging.getLogger(__name__)


class Foreground:
    """Counts interactions being acknowledged; background work yields to them."""

    def __init__(self, max_wait: float = 0.1) -> None:
        self._max_wait = max_wait
        self._answering = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def busy(self) -> bool:
        """Whether an interaction is being acknowledged right now."""
        return self._answering > 0

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Mark an interaction being acknowledged for the duration of the block."""
        self._answering += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if self._answering == 0:
                self._idle.set()

    async def turn(self) -> None:
        """Return when no interaction is being acknowledged, or after ``max_wait`` seconds at most."""
        if self._answering == 0:
            return
        with suppress(TimeoutError):
            async with asyncio.timeout(self._max_wait):
                await self._idle.wait()
