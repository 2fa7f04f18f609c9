"""Live updates: every message change in the fake Discord, pushed to each open page as Server-Sent Events.

One transcript watcher feeds a queue per open page; each page's stream sends only what its
viewer may see (their own ephemeral messages, never someone else's), so the page redraws a
message the moment the bot creates, edits or deletes it, without polling.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from testkit.fake_discord import FakeMessage

from .views import message_json
from .world import PlaygroundWorld

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0  # a comment line now and then, so proxies and browsers keep the stream open
Change = tuple[str, FakeMessage] | None  # None: the server is shutting down


class EventHub:
    """Fans transcript changes out to the open pages' queues."""

    def __init__(self, world: PlaygroundWorld) -> None:
        self.world = world
        self._queues: set[asyncio.Queue[Change]] = set()
        self._unwatch: Callable[[], None] | None = None

    def start(self) -> None:
        """Begin watching the fake's transcript."""
        if self._unwatch is None:
            self._unwatch = self.world.fake.transcript.watch(self._on_change)

    def close(self) -> None:
        """Stop watching and end every open stream."""
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        for queue in list(self._queues):
            queue.put_nowait(None)

    @property
    def listeners(self) -> int:
        """How many pages are connected."""
        return len(self._queues)

    def _on_change(self, kind: str, msg: FakeMessage) -> None:
        for queue in list(self._queues):
            queue.put_nowait((kind, msg))

    async def stream(self, request: web.Request, viewer: int) -> web.StreamResponse:
        """Serve one page's event stream until it disconnects or the server stops."""
        queue: asyncio.Queue[Change] = asyncio.Queue()
        self._queues.add(queue)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        try:
            await response.prepare(request)
            await response.write(b"event: hello\ndata: {}\n\n")
            while True:
                try:
                    change = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if change is None:
                    break
                event = self.event_for(viewer, *change)
                if event is not None:
                    await response.write(f"event: message\ndata: {json.dumps(event)}\n\n".encode())
        except ConnectionResetError:
            log.debug("the page of %s went away", viewer)  # closed tab, reload, or another player picked
        finally:
            self._queues.discard(queue)
        return response

    def event_for(self, viewer: int, kind: str, msg: FakeMessage) -> dict[str, Any] | None:
        """What this viewer is told about a change, or None if the message is not theirs to see."""
        if msg.visible_to not in (None, viewer):
            return None
        if kind == "delete" or msg.deleted:
            return {"kind": "delete", "id": str(msg.id), "channel_id": str(msg.channel_id)}
        return {"kind": kind, "message": message_json(self.world, msg)}
