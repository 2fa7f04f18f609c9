"""The webhook receiver and /healthz, fed genuine deliveries signed and POSTed by the fake EggAPI."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from bot.webhooks import HealthReport, WebhookServer, webhook_path
from testkit.fake_eggapi import DEFAULT_API_KEY, FakeEggAPI, TaskPlan

SECRET = "whsec-test-0123456789"
PATH = "/eggapi/webhook"
LOGGER = "bot.webhooks"


class Clock:
    """A settable clock, frozen at the real time the test started (the fake stamps real time)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


class Hints:
    """Records ``on_hint`` calls; ``wait(n)`` returns once ``n`` calls happened."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._changed = asyncio.Event()

    async def __call__(self, task_id: str) -> bool:
        self.ids.append(task_id)
        self._changed.set()
        return True

    async def wait(self, count: int = 1) -> list[str]:
        async def reached() -> None:
            while len(self.ids) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(reached(), 5)
        return list(self.ids)


async def healthy() -> HealthReport:
    return HealthReport(gateway_connected=True, database_writable=True, tracker_alive=True)


@asynccontextmanager
async def serving(
    *,
    secret: str | None = SECRET,
    on_hint: Callable[[str], Awaitable[object]],
    clock: Callable[[], float] = time.time,
    health: Callable[[], Awaitable[HealthReport]] = healthy,
    **options: Any,
) -> AsyncIterator[WebhookServer]:
    server = WebhookServer(
        host="127.0.0.1", port=0, path=PATH, secret=secret, on_hint=on_hint, health=health, clock=clock, **options
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def url_of(server: WebhookServer, path: str = PATH) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def sign(secret: str, timestamp: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()


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


async def create_task(fake: FakeEggAPI, webhook_url: str, *, plan: TaskPlan | None = None) -> str:
    """Create a task through the fake's HTTP API, the way the bot does."""
    if plan is not None:
        fake.plan_next(plan)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{fake.url}/v1/generate",
            json={"model": "nanobanana", "prompt": "a fried egg", "webhook_url": webhook_url},
            headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
        ) as resp:
            assert resp.status == 202
            return str((await resp.json())["data"]["id"])


async def poll_task(fake: FakeEggAPI, task_id: str) -> str:
    """``GET /v1/tasks/{id}`` once (the default plan completes on the first poll)."""
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{fake.url}/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}
        ) as resp:
            return str((await resp.json())["data"]["status"])


async def finished_task(fake: FakeEggAPI, server: WebhookServer) -> str:
    """A completed task whose automatic webhook was delivered and fully handled."""
    before = len(fake.webhook_deliveries)  # counted first: the delivery may land before the poll returns
    task_id = await create_task(fake, url_of(server))
    assert await poll_task(fake, task_id) == "completed"
    await fake.wait_for_webhooks(before + 1)
    await server.drain()
    return task_id


# -- genuine deliveries ---------------------------------------------------------------------


async def test_completed_task_webhook_hints_once(clock: Clock, hints: Hints) -> None:
    async with FakeEggAPI(webhook_secret=SECRET) as fake, serving(on_hint=hints, clock=clock) as server:
        task_id = await create_task(fake, url_of(server))
        assert await poll_task(fake, task_id) == "completed"  # the fake now POSTs the webhook
        assert await hints.wait(1) == [task_id]
        [delivery] = await fake.wait_for_webhooks(1)
        assert delivery.status == 200
        assert delivery.event == "task.completed"
        assert "X-EggAPI-Signature" in delivery.headers
        await server.drain()
        assert hints.ids == [task_id]


async def test_failed_task_webhook_hints(clock: Clock, hints: Hints) -> None:
    async with FakeEggAPI(webhook_secret=SECRET) as fake, serving(on_hint=hints, clock=clock) as server:
        task_id = await create_task(fake, url_of(server), plan=TaskPlan(hold=True))
        fake.finish(task_id, "failed")
        assert await hints.wait(1) == [task_id]
        [delivery] = await fake.wait_for_webhooks(1)
        assert (delivery.event, delivery.status) == ("task.failed", 200)


async def test_replayed_delivery_is_answered_but_hinted_once(clock: Clock, hints: Hints) -> None:
    async with FakeEggAPI(webhook_secret=SECRET) as fake, serving(on_hint=hints, clock=clock) as server:
        task_id = await finished_task(fake, server)
        first = fake.webhook_deliveries[0]
        again = await fake.deliver_webhook(task_id, timestamp=int(first.headers["X-EggAPI-Timestamp"]))
        assert again.body == first.body and again.headers == first.headers  # byte-identical replay
        assert again.status == 200
        await server.drain()
        assert hints.ids == [task_id]

        # A new delivery (another timestamp) of the same task is a new hint.
        later = await fake.deliver_webhook(task_id, timestamp=int(clock.now) + 1)
        assert later.status == 200
        assert await hints.wait(2) == [task_id, task_id]


async def test_dedupe_memory_is_bounded(clock: Clock, hints: Hints) -> None:
    async with FakeEggAPI(webhook_secret=SECRET) as fake, serving(on_hint=hints, clock=clock, dedupe_size=2) as server:
        task_id = await finished_task(fake, server)  # key 1 (timestamp = real now)
        ts = int(clock.now)
        for offset in (10, 20):  # keys 2 and 3 evict key 1
            assert (await fake.deliver_webhook(task_id, timestamp=ts + offset)).status == 200
        first_ts = int(fake.webhook_deliveries[0].headers["X-EggAPI-Timestamp"])
        assert (await fake.deliver_webhook(task_id, timestamp=first_ts)).status == 200
        assert (await fake.deliver_webhook(task_id, timestamp=ts + 20)).status == 200  # still remembered
        await server.drain()
        assert len(hints.ids) == 4


async def test_signature_with_another_secret_is_rejected(
    clock: Clock, hints: Hints, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeEggAPI(webhook_secret="not-our-secret") as fake, serving(on_hint=hints, clock=clock) as server:
        task_id = await create_task(fake, url_of(server))
        with caplog.at_level(logging.DEBUG, logger=LOGGER):
            await poll_task(fake, task_id)
            [delivery] = await fake.wait_for_webhooks(1)
        assert delivery.status == 401
        await server.drain()
        assert hints.ids == []
        assert "signature mismatch" in caplog.text
        for leak in (SECRET, "not-our-secret", delivery.headers["X-EggAPI-Signature"], task_id, "task.completed"):
            assert leak not in caplog.text


async def test_tampered_body_or_timestamp_is_rejected(clock: Clock, hints: Hints, http: aiohttp.ClientSession) -> None:
    async with FakeEggAPI(webhook_secret=SECRET) as fake, serving(on_hint=hints, clock=clock) as server:
        await finished_task(fake, server)
        genuine = fake.webhook_deliveries[0]
        tampered_body = genuine.body.replace(b'"completed"', b'"failed"')
        assert tampered_body != genuine.body
        async with http.post(url_of(server), data=tampered_body, headers=genuine.headers) as resp:
            assert resp.status == 401
        other_ts = dict(genuine.headers, **{"X-EggAPI-Timestamp": str(int(clock.now) + 1)})
        async with http.post(url_of(server), data=genuine.body, headers=other_ts) as resp:
            assert resp.status == 401
        # Upper-case hex and surrounding blanks are tolerated.
        ts = str(int(clock.now) + 2)
        loud = {"X-EggAPI-Timestamp": ts, "X-EggAPI-Signature": " " + sign(SECRET, ts, genuine.body).upper() + " "}
        async with http.post(url_of(server), data=genuine.body, headers=loud) as resp:
            assert resp.status == 200
        await server.drain()
        assert len(hints.ids) == 2


@pytest.mark.parametrize("offset", [-301, 301, -3600])
async def test_stale_or_future_timestamp_is_rejected(clock: Clock, hints: Hints, offset: int) -> None:
    async with FakeEggAPI(webhook_secret=SECRET) as fake, serving(on_hint=hints, clock=clock) as server:
        task_id = await finished_task(fake, server)
        delivery = await fake.deliver_webhook(task_id, timestamp=int(clock.now) + offset)
        assert delivery.status == 401
        await server.drain()
        assert hints.ids == [task_id]  # only the genuine, fresh first delivery


@pytest.mark.parametrize("offset", [-300, 300])
async def test_timestamp_at_the_window_edge_is_accepted(clock: Clock, hints: Hints, offset: int) -> None:
    async with FakeEggAPI(webhook_secret=SECRET) as fake, serving(on_hint=hints, clock=clock) as server:
        task_id = await finished_task(fake, server)
        assert (await fake.deliver_webhook(task_id, timestamp=int(clock.now) + offset)).status == 200
        assert await hints.wait(2) == [task_id, task_id]


async def test_window_follows_the_injected_clock(clock: Clock, hints: Hints) -> None:
    async with FakeEggAPI(webhook_secret=SECRET) as fake, serving(on_hint=hints, clock=clock) as server:
        task_id = await finished_task(fake, server)
        old = int(clock.now) - 1000
        assert (await fake.deliver_webhook(task_id, timestamp=old)).status == 401
        clock.now = old + 60.0
        assert (await fake.deliver_webhook(task_id, timestamp=old)).status == 200
        assert await hints.wait(2) == [task_id, task_id]


async def test_unsigned_delivery_is_rejected_when_a_secret_is_configured(clock: Clock, hints: Hints) -> None:
    async with FakeEggAPI(webhook_secret=None) as fake, serving(on_hint=hints, clock=clock) as server:
        task_id = await create_task(fake, url_of(server))
        await poll_task(fake, task_id)
        [delivery] = await fake.wait_for_webhooks(1)
        assert "X-EggAPI-Signature" not in delivery.headers
        assert delivery.status == 401
        await server.drain()
        assert hints.ids == []


@pytest.mark.parametrize(
    "headers",
    [
        {"X-EggAPI-Timestamp": None},
        {"X-EggAPI-Timestamp": "not-a-number"},
        {"X-EggAPI-Timestamp": "1.5e9"},
        {"X-EggAPI-Timestamp": "-1"},
        {"X-EggAPI-Signature": None},
        {"X-EggAPI-Signature": "sha256="},
        {"X-EggAPI-Signature": "sha1=abc"},
        {"X-EggAPI-Signature": "sha256=\u00e9\u00e9"},
    ],
)
async def test_malformed_auth_headers_are_rejected(
    clock: Clock, hints: Hints, http: aiohttp.ClientSession, headers: dict[str, str | None]
) -> None:
    raw = b'{"event":"task.completed","task_id":"gen_000000000001"}'
    ts = str(int(clock.now))
    base = {"Content-Type": "application/json", "X-EggAPI-Timestamp": ts, "X-EggAPI-Signature": sign(SECRET, ts, raw)}
    sent = {k: v for k, v in {**base, **headers}.items() if v is not None}
    async with serving(on_hint=hints, clock=clock) as server:
        async with http.post(url_of(server), data=raw, headers=sent) as resp:
            assert resp.status == 401
            assert (await resp.json())["ok"] is False
        await server.drain()
    assert hints.ids == []


async def test_unsigned_deliveries_accepted_without_a_secret(
    clock: Clock, hints: Hints, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeEggAPI(webhook_secret=None) as fake, serving(secret=None, on_hint=hints, clock=clock) as server:
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            first = await create_task(fake, url_of(server))
            second = await create_task(fake, url_of(server))
            await poll_task(fake, first)
            await poll_task(fake, second)
            deliveries = await fake.wait_for_webhooks(2)
            assert sorted(await hints.wait(2)) == sorted([first, second])
        assert [d.status for d in deliveries] == [200, 200]
        unauthenticated = [r for r in caplog.records if "unauthenticated" in r.getMessage()]
        assert len(unauthenticated) == 1 and unauthenticated[0].levelno == logging.WARNING


async def test_signed_delivery_accepted_without_a_secret(clock: Clock, hints: Hints) -> None:
    async with FakeEggAPI(webhook_secret=SECRET) as fake, serving(secret=None, on_hint=hints, clock=clock) as server:
        task_id = await create_task(fake, url_of(server))
        await poll_task(fake, task_id)
        assert await hints.wait(1) == [task_id]


# -- hand-made requests ---------------------------------------------------------------------


async def post_signed(
    http: aiohttp.ClientSession, server: WebhookServer, raw: bytes, clock: Clock
) -> tuple[int, dict[str, Any]]:
    ts = str(int(clock.now))
    headers = {
        "Content-Type": "application/json",
        "X-EggAPI-Timestamp": ts,
        "X-EggAPI-Signature": sign(SECRET, ts, raw),
    }
    async with http.post(url_of(server), data=raw, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_body_too_large_is_413(clock: Clock, hints: Hints, http: aiohttp.ClientSession) -> None:
    async with serving(on_hint=hints, clock=clock, max_body=1024) as server:
        payload = {"event": "task.completed", "task_id": "gen_000000000001", "pad": "x" * 2000}
        status, body = await post_signed(http, server, json.dumps(payload).encode(), clock)
        assert status == 413 and body["ok"] is False

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the streamed size counts
            for _ in range(4):
                yield b"x" * 400

        async with http.post(url_of(server), data=chunks()) as resp:
            assert resp.status == 413

        small = json.dumps({"event": "task.completed", "task_id": "gen_000000000001"}).encode()
        assert (await post_signed(http, server, small, clock))[0] == 200
        assert await hints.wait(1) == ["gen_000000000001"]


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe{}",
        b"",
        b'["task_id", "gen_1"]',
        b'"gen_1"',
        b'{"event": "task.completed", "status": "completed"}',
        b'{"task_id": 12345}',
        b'{"task_id": ""}',
        b'{"data": "gen_1"}',
        b'{"task_id": "' + b"g" * 300 + b'"}',
    ],
)
async def test_bad_payload_is_400(clock: Clock, hints: Hints, http: aiohttp.ClientSession, raw: bytes) -> None:
    async with serving(on_hint=hints, clock=clock) as server:
        status, body = await post_signed(http, server, raw, clock)
        assert status == 400 and body["ok"] is False
        await server.drain()
    assert hints.ids == []


@pytest.mark.parametrize("secret", [SECRET, None])
async def test_deeply_nested_json_is_400_without_a_traceback(
    clock: Clock, hints: Hints, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, secret: str | None
) -> None:
    raw = b"[" * 30000 + b"]" * 30000
    with caplog.at_level(logging.WARNING):
        async with serving(secret=secret, on_hint=hints, clock=clock) as server:
            status, body = await post_signed(http, server, raw, clock)
            assert (status, body) == (400, {"ok": False, "error": "body is nested too deeply"})
            await server.drain()
    assert hints.ids == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"event": "task.completed", "task_id": "gen_a", "id": "gen_b"}, "gen_a"),
        ({"event": "task.completed", "id": "gen_b"}, "gen_b"),
        ({"event": "task.failed", "data": {"id": "gen_c", "status": "failed"}}, "gen_c"),
        ({"task_id": "", "id": None, "data": {"id": "gen_d"}}, "gen_d"),
    ],
)
async def test_task_id_fallbacks(
    clock: Clock, hints: Hints, http: aiohttp.ClientSession, payload: dict[str, Any], expected: str
) -> None:
    async with serving(on_hint=hints, clock=clock) as server:
        status, body = await post_signed(http, server, json.dumps(payload).encode(), clock)
        assert (status, body) == (200, {"ok": True})
        assert await hints.wait(1) == [expected]


async def test_replies_before_the_hint_finishes_and_stop_cancels_it(clock: Clock, http: aiohttp.ClientSession) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def slow_hint(task_id: str) -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # a poll that never finishes
        except asyncio.CancelledError:
            cancelled.set()
            raise

    server = WebhookServer(
        host="127.0.0.1", port=0, path=PATH, secret=SECRET, on_hint=slow_hint, health=healthy, clock=clock
    )
    await server.start()
    try:
        status, _ = await post_signed(http, server, b'{"task_id": "gen_slow"}', clock)
        assert status == 200
        await asyncio.wait_for(started.wait(), 5)
    finally:
        await server.stop()
    assert cancelled.is_set()
    await server.stop()  # idempotent


async def test_hint_errors_are_logged_not_raised(
    clock: Clock, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken_hint(task_id: str) -> None:
        raise RuntimeError("database is locked")

    with caplog.at_level(logging.ERROR, logger=LOGGER):
        async with serving(on_hint=broken_hint, clock=clock) as server:
            assert (await post_signed(http, server, b'{"task_id": "gen_err"}', clock))[0] == 200
            await server.drain()
            assert (await post_signed(http, server, b'{"task_id": "gen_ok"}', clock))[0] == 200
            await server.drain()
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 2 and failures[0].exc_info is not None


# -- routes and paths -----------------------------------------------------------------------


async def test_routes_serve_only_the_public_url_path(clock: Clock, hints: Hints, http: aiohttp.ClientSession) -> None:
    path = webhook_path("https://bot.example.com/eggapi/webhook")
    assert path == PATH
    async with serving(on_hint=hints, clock=clock) as server:
        assert server.port != 0 and server.path == PATH
        async with http.get(url_of(server)) as resp:
            assert resp.status == 405
        async with http.post(url_of(server, "/"), data=b"{}") as resp:
            assert resp.status == 404
        async with http.post(url_of(server, "/eggapi/other"), data=b"{}") as resp:
            assert resp.status == 404
        async with http.post(url_of(server, "/healthz"), data=b"{}") as resp:
            assert resp.status == 405


async def test_health_only_mode_serves_no_webhook_route(
    clock: Clock, hints: Hints, http: aiohttp.ClientSession
) -> None:
    async with serving(secret=None, on_hint=hints, clock=clock, webhooks=False) as server:
        async with http.post(url_of(server), data=b'{"task_id": "gen_forged"}') as resp:
            assert resp.status == 404
        ts = str(int(clock.now))
        signed = {"X-EggAPI-Timestamp": ts, "X-EggAPI-Signature": sign(SECRET, ts, b'{"task_id": "gen_signed"}')}
        async with http.post(url_of(server), data=b'{"task_id": "gen_signed"}', headers=signed) as resp:
            assert resp.status == 404
        async with http.get(url_of(server, "/healthz")) as resp:
            assert resp.status == 200
        await server.drain()
    assert hints.ids == []


async def test_root_path_and_query_in_public_url(clock: Clock, hints: Hints) -> None:
    async with FakeEggAPI(webhook_secret=SECRET) as fake:
        server = WebhookServer(
            host="127.0.0.1",
            port=0,
            path=webhook_path("https://bot.example.com"),
            secret=SECRET,
            on_hint=hints,
            health=healthy,
            clock=clock,
        )
        await server.start()
        try:
            task_id = await create_task(fake, f"http://127.0.0.1:{server.port}/?source=eggapi")
            await poll_task(fake, task_id)
            assert await hints.wait(1) == [task_id]
        finally:
            await server.stop()


@pytest.mark.parametrize(
    ("public_url", "path"),
    [
        ("https://bot.example.com/eggapi/webhook", "/eggapi/webhook"),
        ("https://bot.example.com", "/"),
        ("https://bot.example.com/", "/"),
        ("https://bot.example.com:8443/hooks/egg/?token=x#frag", "/hooks/egg/"),
        ("https://bot.example.com/egg%20hooks", "/egg hooks"),
    ],
)
def test_webhook_path(public_url: str, path: str) -> None:
    assert webhook_path(public_url) == path


def test_invalid_paths_are_refused() -> None:
    for path in ("eggapi/webhook", "/healthz"):
        with pytest.raises(ValueError):
            WebhookServer(host="127.0.0.1", port=0, path=path, secret=None, on_hint=Hints(), health=healthy)


# -- /healthz -------------------------------------------------------------------------------


async def test_healthz_ok_says_nothing_more(
    hints: Hints, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    state = {"ok": False}

    async def report() -> HealthReport:
        return HealthReport(True, state["ok"], True, details={"in_flight": 3, "spent": Decimal("0.50")})

    with caplog.at_level(logging.INFO, logger=LOGGER):
        async with serving(on_hint=hints, health=report) as server:
            async with http.get(url_of(server, "/healthz")) as resp:
                assert (resp.status, await resp.json()) == (503, {"status": "degraded"})
            state["ok"] = True
            async with http.get(url_of(server, "/healthz")) as resp:
                assert resp.status == 200
                assert await resp.json() == {"status": "ok"}  # no flags, no in-flight count, no details
    logged = [r.getMessage() for r in caplog.records if "health is now" in r.getMessage()]
    assert len(logged) == 2
    assert "'database_writable': False" in logged[0] and '"in_flight": 3' in logged[0]
    assert '"spent": "0.50"' in logged[1]


@pytest.mark.parametrize("broken", ["gateway_connected", "database_writable", "tracker_alive"])
async def test_healthz_degraded(
    hints: Hints, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, broken: str
) -> None:
    flags: dict[str, Any] = {"gateway_connected": True, "database_writable": True, "tracker_alive": True, broken: False}

    async def report() -> HealthReport:
        return HealthReport(**flags)

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with serving(on_hint=hints, health=report) as server:
            for _ in range(2):
                async with http.get(url_of(server, "/healthz")) as resp:
                    assert resp.status == 503
                    assert await resp.json() == {"status": "degraded"}
    degraded = [r.getMessage() for r in caplog.records if "degraded" in r.getMessage()]
    assert len(degraded) == 1 and f"'{broken}': False" in degraded[0]  # changes only, and which one


async def test_healthz_when_the_check_itself_fails(
    hints: Hints, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async def report() -> HealthReport:
        raise OSError("disk gone")

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with serving(on_hint=hints, health=report) as server:
            for _ in range(3):
                async with http.get(url_of(server, "/healthz")) as resp:
                    assert resp.status == 503
                    assert await resp.json() == {"status": "degraded"}
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
