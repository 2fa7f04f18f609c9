"""Serving an aiohttp app to the internet without letting strangers exhaust the process's sockets.

``CappedSite`` is a TCP site whose connections are counted: once ``max_connections`` are open, a
new one is closed as soon as it is accepted, before anything is read from it. Idle and
half-sent connections are bounded by the runner's ``keepalive_timeout`` (aiohttp arms it when a
connection opens and closes it if no complete request has arrived by then; trickled bytes do not
extend it), half-sent bodies by the handler's own read timeout. Together these keep a slow or
hostile client from holding file descriptors the rest of the bot needs (downloads, Discord, SQLite).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import cast

from aiohttp import web

log = logging.getLogger(__name__)

__all__ = ["CappedSite", "connection_cap"]

FD_SHARE = 4  # the public server may use at most a quarter of the descriptors the process may open


def connection_cap(requested: int, fd_limit: int | None = None) -> int:
    """``requested``, lowered so that the server's sockets stay well below RLIMIT_NOFILE."""
    if fd_limit is None:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        fd_limit = None if soft == resource.RLIM_INFINITY else soft
    if fd_limit is None:
        return requested
    return max(1, min(requested, fd_limit // FD_SHARE))


class _Counter:
    """Open connections of one site, and how many were refused (for logs and tests)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self.refused = 0

    def admit(self) -> bool:
        if self.open >= self.limit:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.warning(
                    "web server: %d connections open, the most allowed; refusing new ones (%d refused so far)",
                    self.open,
                    self.refused,
                )
            return False
        self.open += 1
        return True

    def release(self) -> None:
        self.open -= 1


class _Guarded(asyncio.Protocol):
    """Hands an admitted connection to aiohttp's protocol; closes a refused one at once."""

    def __init__(self, counter: _Counter, server: web.Server) -> None:
        self._counter = counter
        self._server = server
        self._inner: asyncio.Protocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._counter.admit():
            cast(asyncio.Transport, transport).abort()  # nothing read, nothing answered: the descriptor is freed now
            return
        self._inner = self._server()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        inner, self._inner = self._inner, None
        if inner is not None:
            self._counter.release()
            inner.connection_lost(exc)


class CappedSite(web.BaseSite):
    """A TCP site that serves at most ``max_connections`` connections at a time."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, max_connections: int) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._counter = _Counter(max_connections)

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def open_connections(self) -> int:
        """Connections being served right now."""
        return self._counter.open

    @property
    def refused_connections(self) -> int:
        """Connections closed at accept because the cap was reached."""
        return self._counter.refused

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None  # the runner is set up (checked by BaseSite)
        counter = self._counter
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Guarded(counter, server), self._host, self._port, backlog=self._backlog, reuse_address=True
        )
