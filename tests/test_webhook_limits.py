"""The public web server against slow, partial and too many connections, over real loopback sockets."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from bot.logs import RepeatFilter
from bot.serving import connection_cap
from tests.test_webhooks import Clock, Hints, post_signed, serving, url_of


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hints() -> Hints:
    return Hints()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


HEAD = b"POST /eggapi/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (yielding to the server) until ``condition()`` holds."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the server has no event for its connection count
            await asyncio.sleep(0.005)


async def connect(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    return reader, writer


async def read_to_close(reader: asyncio.StreamReader, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    except ConnectionResetError:
        return b""


async def test_a_request_head_that_never_ends_is_closed(clock: Clock, hints: Hints) -> None:
    async with serving(on_hint=hints, clock=clock, request_timeout=0.2) as server:
        reader, writer = await connect(server.port, HEAD)  # no blank line: the head never completes
        assert await read_to_close(reader) == b""
        writer.close()
        await until(lambda: server.open_connections == 0)
    assert hints.ids == []


async def test_an_idle_connection_is_closed(clock: Clock, hints: Hints) -> None:
    async with serving(on_hint=hints, clock=clock, request_timeout=0.2) as server:
        reader, writer = await connect(server.port, b"")
        assert await read_to_close(reader) == b""
        writer.close()


async def test_a_body_that_never_arrives_gets_408_and_is_closed(clock: Clock, hints: Hints) -> None:
    async with serving(on_hint=hints, clock=clock, request_timeout=0.2) as server:
        reader, writer = await connect(server.port, HEAD + b"Content-Length: 60000\r\n\r\n{")
        answer = await read_to_close(reader)
        assert answer.startswith(b"HTTP/1.1 408")
        writer.close()
        await until(lambda: server.open_connections == 0)
    assert hints.ids == []


async def test_a_health_probe_with_an_unsent_body_is_closed(clock: Clock, hints: Hints) -> None:
    async with serving(on_hint=hints, clock=clock, request_timeout=0.2) as server:
        probe = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 60000\r\n\r\nx"
        reader, writer = await connect(server.port, probe)
        assert (await read_to_close(reader)).startswith(b"HTTP/1.1 200")
        writer.close()


async def test_connections_beyond_the_cap_are_closed_and_service_goes_on(
    clock: Clock, hints: Hints, http: aiohttp.ClientSession
) -> None:
    async with serving(on_hint=hints, clock=clock, request_timeout=60, max_connections=3) as server:
        stalled = [await connect(server.port, HEAD) for _ in range(3)]
        await until(lambda: server.open_connections == 3)
        extra_reader, extra_writer = await connect(server.port, HEAD)
        assert await read_to_close(extra_reader) == b""  # refused at once, long before the 60 s timeout
        extra_writer.close()
        assert server.open_connections == 3

        _, first = stalled.pop()  # one stalled client goes away: its slot is free again
        first.close()
        await until(lambda: server.open_connections == 2)
        status, body = await post_signed(http, server, b'{"task_id": "gen_capped"}', clock)
        assert (status, body) == (200, {"ok": True})
        assert await hints.wait(1) == ["gen_capped"]
        async with http.get(url_of(server, "/healthz")) as resp:
            assert resp.status == 200
        for _, writer in stalled:
            writer.close()


async def test_stalled_connections_free_their_slots_for_a_genuine_delivery(
    clock: Clock, hints: Hints, http: aiohttp.ClientSession
) -> None:
    async with serving(on_hint=hints, clock=clock, request_timeout=0.3, max_connections=2) as server:
        stalled = [await connect(server.port, HEAD) for _ in range(2)]
        for reader, _ in stalled:
            assert await read_to_close(reader) == b""  # the server gave up on them
        await until(lambda: server.open_connections == 0)
        assert (await post_signed(http, server, b'{"task_id": "gen_after"}', clock))[0] == 200
        assert await hints.wait(1) == ["gen_after"]
        for _, writer in stalled:
            writer.close()


@pytest.mark.parametrize(
    ("requested", "fd_limit", "cap"), [(64, 20000, 64), (64, 1024, 64), (64, 100, 25), (500, 1024, 256), (64, 2, 1)]
)
def test_the_cap_stays_well_below_the_descriptor_limit(requested: int, fd_limit: int, cap: int) -> None:
    assert connection_cap(requested, fd_limit) == cap


def test_the_cap_of_this_process_is_at_most_a_quarter_of_its_limit() -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_cap(10**9) <= (soft // 4 if soft != resource.RLIM_INFINITY else 10**9)


def test_a_flood_of_one_asyncio_error_is_collapsed_by_the_logging_setup() -> None:
    """The real ``configure_logging`` in a fresh interpreter, fed asyncio's fd-exhaustion error 1,000 times."""
    script = (
        "import logging\n"
        "from bot.logs import configure_logging\n"
        "configure_logging('INFO')\n"
        "log = logging.getLogger('asyncio')\n"
        "for _ in range(1000):\n"
        "    log.error('socket.accept() out of system resource', exc_info=OSError(24, 'Too many open files'))\n"
        "logging.getLogger('bot.other').error('a different message')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    lines = done.stderr.splitlines()
    assert len([line for line in lines if "socket.accept() out of system resource" in line]) == 5
    assert len([line for line in lines if "Too many open files" in line]) == 5  # five tracebacks, not 1,000
    assert "suppressing copies" in done.stderr
    assert "a different message" in done.stderr


def test_the_repeat_filter_reports_what_it_dropped_once_the_window_is_over() -> None:
    now = [0.0]
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(RepeatFilter(window=60, burst=2, clock=lambda: now[0]))
    log = logging.getLogger("tests.repeat")
    log.addHandler(handler)
    log.propagate = False
    try:
        for _ in range(10):
            log.warning("webhook rejected with %d from %s", 401, "203.0.113.9")
        log.warning("webhook rejected with %d from %s", 401, "198.51.100.7")  # another message
        now[0] = 61.0
        log.warning("webhook rejected with %d from %s", 401, "203.0.113.9")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    messages = [r.getMessage() for r in records]
    assert messages == [
        "webhook rejected with 401 from 203.0.113.9",
        "webhook rejected with 401 from 203.0.113.9 [repeated 2 times; suppressing copies for 60s]",
        "webhook rejected with 401 from 198.51.100.7",
        "webhook rejected with 401 from 203.0.113.9 [8 identical messages suppressed before this one]",
    ]
