"""Unit tests of bot.eggapi against the FakeEggAPI server over loopback (no internet)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from bot.eggapi import (
    BadRequest,
    DownloadTooLarge,
    EggAPIClient,
    EggAPIClientError,
    EggAPIError,
    EggAPIServerError,
    EggAPIUnavailable,
    EggTask,
    Forbidden,
    GenerateRequest,
    InsufficientBalance,
    InternalError,
    MalformedResponse,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    SubmitOutcomeUnknown,
    TaskPage,
    TransportError,
    Unauthorized,
    UpstreamError,
    UsageRecordPage,
    UsageRow,
    ValidationFailed,
    format_cost,
    parse_cost,
)
from bot.eggapi._client import MAX_REDIRECTS
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes

KEY = "egg_sk_unit_test_5ecret_0123456789"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class RecordingSleep:
    """Injected ``sleep``: records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
async def fake() -> AsyncIterator[FakeEggAPI]:
    async with FakeEggAPI(api_key=KEY) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def make_client(
    fake: FakeEggAPI, session: aiohttp.ClientSession, sleeps: RecordingSleep
) -> Callable[..., EggAPIClient]:
    def make(**overrides: Any) -> EggAPIClient:
        options: dict[str, Any] = {
            "api_key": KEY,
            "base_url": fake.url,
            "timeout": 2.0,
            "sleep": sleeps,
            "rng": random.Random(7),
        }
        options.update(overrides)
        return EggAPIClient(session, **options)

    return make


@pytest.fixture
def client(make_client: Callable[..., EggAPIClient]) -> EggAPIClient:
    return make_client()


async def completed_task(client: EggAPIClient, **request: Any) -> EggTask:
    """Submit and poll once (default plan completes on the first poll)."""
    task = await client.generate(GenerateRequest(prompt="a red fox in snow", **request))
    return await client.get_task(task.id)


# ---------------------------------------------------------------- money and models


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$0.00", Decimal("0")),
        ("$0.0100", Decimal("0.01")),
        ("$0.0000", Decimal("0")),
        ("$0.0160", Decimal("0.016")),
        ("0.016000", Decimal("0.016")),
        ("0.0100", Decimal("0.01")),
        ("  $0.0100 \n", Decimal("0.01")),
        ("$ 1.5", Decimal("1.5")),
        (None, Decimal("0")),
        (0, Decimal("0")),
        (2, Decimal("2")),
        (0.01, Decimal("0.01")),
        (Decimal("0.0300"), Decimal("0.03")),
    ],
)
def test_parse_cost_formats(raw: Any, expected: Decimal) -> None:
    result = parse_cost(raw)
    assert isinstance(result, Decimal)
    assert result == expected


@pytest.mark.parametrize("raw", ["", "$", "abc", "$0.01$", "1e3", "NaN", "$-1", "0x10", "١٢", True, [1]])
def test_parse_cost_rejects_garbage(raw: Any) -> None:
    with pytest.raises(ValueError):
        parse_cost(raw)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0.01"), "$0.0100"),
        (Decimal("0"), "$0.0000"),
        (Decimal("0.016000"), "$0.0160"),
        (Decimal("0.00005"), "$0.0001"),
        (Decimal("0.00004"), "$0.0000"),
        (Decimal("12.3"), "$12.3000"),
    ],
)
def test_format_cost(amount: Decimal, text: str) -> None:
    assert format_cost(amount) == text


def test_generate_request_json_omits_unset_fields() -> None:
    assert GenerateRequest(prompt="fox").to_json() == {"model": "nanobanana", "prompt": "fox", "num_outputs": 1}
    full = GenerateRequest(
        prompt="fox",
        negative_prompt="blur",
        aspect_ratio="9:16",
        num_outputs=2,
        resolution="2k",
        image_urls=["https://example.com/a.png"],  # type: ignore[arg-type]  # lists are coerced
        webhook_url="https://bot.example.com/hook",
    )
    body = full.to_json()
    assert body["image_urls"] == ["https://example.com/a.png"]
    assert full.image_urls == ("https://example.com/a.png",)
    assert "duration" not in body
    assert set(body) == {
        "model",
        "prompt",
        "negative_prompt",
        "aspect_ratio",
        "num_outputs",
        "resolution",
        "image_urls",
        "webhook_url",
    }


def test_task_from_json_variants() -> None:
    task = EggTask.from_json(
        {
            "id": "gen_1",
            "status": "completed",
            "model": "nanobanana",
            "type": "image_generate",
            "output": {"url": "https://file.eggapi.ai/images/gen_1/0.png"},
            "cost": "$0.0100",
            "created_at": "2026-05-08T10:30:00Z",
            "started_at": "2025-12-25T21:03:47.879577+08:00",
            "completed_at": "2025-12-25T21:03:47.879577123+08:00",
        }
    )
    assert task.output_urls == ("https://file.eggapi.ai/images/gen_1/0.png",)
    assert task.is_terminal and task.is_completed and task.cost == Decimal("0.01")
    assert task.created_at == datetime(2026, 5, 8, 10, 30, tzinfo=UTC)
    assert task.started_at == datetime(2025, 12, 25, 21, 3, 47, 879577, tzinfo=timezone(timedelta(hours=8)))
    assert task.completed_at is not None and task.completed_at.utcoffset() == timedelta(hours=8)

    pending = EggTask.from_json(
        {"id": "task_abc123", "status": "pending", "output": None, "error": None, "cost": "$0.0000", "started_at": None}
    )
    assert pending.output_urls == () and pending.error is None and not pending.is_terminal
    assert pending.started_at is None and pending.created_at is None
    with pytest.raises((KeyError, ValueError)):
        EggTask.from_json({"status": "pending"})


@pytest.mark.parametrize("raw", ["$0.0100 USD", "0,01", "", "1e-2", "NaN", "-$0.01", None, {"usd": 1}])
def test_an_unreadable_cost_does_not_reject_the_task(raw: object) -> None:
    """D6: one odd field must not hide a completed task's images; the cost is just unknown."""
    body: dict[str, object] = {"id": "gen_1", "status": "completed", "output": {"urls": ["https://f/0.png"]}}
    if raw is not None:
        body["cost"] = raw
    task = EggTask.from_json(body)
    assert task.is_completed and task.output_urls == ("https://f/0.png",)
    assert task.cost is None
    assert task.unreadable_cost == ("absent" if raw is None else repr(raw))


def test_an_unreadable_cost_is_described_short_and_printable() -> None:
    task = EggTask.from_json({"id": "gen_1", "status": "completed", "cost": "$0.01\n" + "x" * 500})
    assert task.cost is None and task.unreadable_cost is not None
    assert len(task.unreadable_cost) <= 60 and "\n" not in task.unreadable_cost


# ---------------------------------------------------------------- happy paths


async def test_generate_sends_bearer_and_documented_body(client: EggAPIClient, fake: FakeEggAPI) -> None:
    task = await client.generate(GenerateRequest(prompt="a red fox in snow", aspect_ratio="16:9"))
    assert task.status == "pending" and task.cost == Decimal("0") and task.type == "image_generate"
    assert task.id in fake.tasks and task.created_at is not None
    [sent] = fake.requests_to("POST", "/v1/generate")
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.json == {"model": "nanobanana", "prompt": "a red fox in snow", "aspect_ratio": "16:9", "num_outputs": 1}


async def test_task_lifecycle_and_failed_task(client: EggAPIClient, fake: FakeEggAPI) -> None:
    source = await completed_task(client)  # its output is a reference image the fake can download
    fake.plan_next(TaskPlan(polls_until_processing=1, polls_until_done=2, images=1), TaskPlan(outcome="failed"))
    task = await client.generate(GenerateRequest(prompt="fox", num_outputs=2, image_urls=source.output_urls))
    assert task.type == "image_edit"
    statuses = [(await client.get_task(task.id)).status for _ in range(3)]
    assert statuses == ["pending", "processing", "completed"]
    assert [(f.task_id, f.url, f.status) for f in fake.input_fetches] == [(task.id, source.output_urls[0], 200)]
    done = await client.get_task(task.id)
    assert len(done.output_urls) == 1 and done.cost == Decimal("0.01")  # fewer images than asked
    assert done.started_at is not None and done.completed_at is not None

    failed = await client.get_task((await client.generate(GenerateRequest(prompt="bad"))).id)
    assert failed.is_failed and failed.cost == Decimal("0")
    assert failed.error == "Content moderation: prompt contains prohibited content"


async def test_a_reference_that_cannot_be_downloaded_fails_the_task(client: EggAPIClient, fake: FakeEggAPI) -> None:
    source = await completed_task(client)
    gone = f"{fake.url}/files/images/gen_unknown/0.png"
    task = await client.generate(GenerateRequest(prompt="fox", image_urls=(source.output_urls[0], gone)))
    assert task.status == "pending" and fake.input_fetches == []  # accepted: nothing downloaded at submit
    failed = await client.get_task(task.id)
    assert failed.is_failed and failed.cost == Decimal("0")
    assert failed.error == "Failed to download image_urls[1]: HTTP 404"
    assert [f.status for f in fake.input_fetches] == [200, 404]


async def test_hold_and_finish_and_offset_times(client: EggAPIClient, fake: FakeEggAPI) -> None:
    fake.time_format, fake.legacy_nulls = "offset", True
    fake.plan_next(TaskPlan(hold=True))
    task = await client.generate(GenerateRequest(prompt="fox", num_outputs=3))
    assert (await client.get_task(task.id)).status == "processing"
    fake.finish(task.id, images=2)
    done = await client.get_task(task.id)
    assert len(done.output_urls) == 2 and done.cost == Decimal("0.02")
    assert done.completed_at is not None and done.completed_at.utcoffset() == timedelta(hours=8)


# ---------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "BAD_REQUEST", BadRequest),
        (400, "VALIDATION_ERROR", ValidationFailed),
        (401, "UNAUTHORIZED", Unauthorized),
        (403, "FORBIDDEN", Forbidden),
        (403, "INSUFFICIENT_BALANCE", InsufficientBalance),
        (404, "NOT_FOUND", NotFound),
        (429, "RATE_LIMITED", RateLimited),
        (500, "INTERNAL_ERROR", InternalError),
        (502, "UPSTREAM_ERROR", UpstreamError),
        (503, "SERVICE_UNAVAILABLE", ServiceUnavailable),
    ],
)
async def test_documented_codes_map_to_classes(
    make_client: Callable[..., EggAPIClient], fake: FakeEggAPI, status: int, code: str, cls: type[EggAPIError]
) -> None:
    client = make_client(max_attempts=1)
    fake.fail_next("GET", r"^/v1/tasks/", status, code)
    with pytest.raises(cls) as info:
        await client.get_task("gen_x")
    err = info.value
    assert type(err) is cls and err.status == status and err.code == code
    assert err.retryable == (status >= 429)
    assert "injected" not in err.user_message and err.user_message.endswith(".")


async def test_real_upstream_errors(
    make_client: Callable[..., EggAPIClient], fake: FakeEggAPI, sleeps: RecordingSleep
) -> None:
    client = make_client()
    with pytest.raises(NotFound):
        await client.get_task("gen_missing")
    with pytest.raises(ValidationFailed) as info:
        await client.generate(GenerateRequest(prompt="", num_outputs=5, aspect_ratio="1:1"))
    assert "'Prompt' failed on the 'required' tag" in info.value.message
    assert "NumOutputs" in info.value.message and "AspectRatio" in info.value.message
    assert "Key:" not in info.value.user_message
    fake.insufficient_balance = True
    with pytest.raises(InsufficientBalance):
        await client.generate(GenerateRequest(prompt="fox"))
    with pytest.raises(Unauthorized):
        await make_client(api_key="egg_sk_wrong").get_task("gen_x")
    assert sleeps.delays == [] and fake.tasks == {}


async def test_non_json_502_maps_by_status(make_client: Callable[..., EggAPIClient], fake: FakeEggAPI) -> None:
    fake.fail_next("GET", r"^/v1/tasks$", 502, body="<html><body><h1>502 Bad Gateway</h1></body></html>")
    with pytest.raises(EggAPIServerError) as info:
        await make_client(max_attempts=1).list_tasks()
    assert type(info.value) is EggAPIServerError and isinstance(info.value, EggAPIUnavailable)
    assert info.value.status == 502 and info.value.code == "HTTP_502" and info.value.retryable
    assert "502 Bad Gateway" in info.value.message and "<" not in info.value.user_message


@pytest.mark.parametrize(
    ("status", "code", "body", "cls"),
    [
        (418, "I_AM_A_TEAPOT", None, EggAPIClientError),
        (409, None, '{"message": "no envelope"}', EggAPIClientError),
        (507, "DISK_FULL", None, EggAPIServerError),
        (429, None, "slow down", RateLimited),
        (401, None, "nope", Unauthorized),
    ],
)
async def test_unknown_codes_map_by_status(
    make_client: Callable[..., EggAPIClient],
    fake: FakeEggAPI,
    status: int,
    code: str | None,
    body: str | None,
    cls: type[EggAPIError],
) -> None:
    fake.fail_next("GET", r"^/v1/usage/summary$", status, code, body=body)
    with pytest.raises(cls) as info:
        await make_client(max_attempts=1).usage_summary()
    assert type(info.value) is cls and info.value.code == (code or f"HTTP_{status}")


async def test_malformed_success_body(make_client: Callable[..., EggAPIClient], fake: FakeEggAPI) -> None:
    fake.fail_next("GET", r"^/v1/tasks/", 200, body='{"id": "not-an-envelope"}')
    with pytest.raises(MalformedResponse):
        await make_client().get_task("gen_x")
    fake.fail_next(
        "GET",
        r"^/v1/tasks$",
        200,
        body='{"data": {"items": "oops"}, "error": null}',
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(MalformedResponse):
        await make_client().list_tasks()


# ---------------------------------------------------------------- GET retries


async def test_get_retries_429_honouring_retry_after(
    client: EggAPIClient, fake: FakeEggAPI, sleeps: RecordingSleep, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next("GET", r"^/v1/usage/summary$", 429, headers={"Retry-After": "2"})
    with caplog.at_level(logging.WARNING, logger="bot.eggapi"):
        assert await client.usage_summary() == []
    assert sleeps.delays == [2.0]
    assert fake.count("GET", "/v1/usage/summary") == 2
    [record] = [r for r in caplog.records if r.name.startswith("bot.eggapi")]
    text = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "GET /v1/usage/summary" in text and "status=429" in text and "attempt 1/5" in text
    assert KEY not in caplog.text


async def test_retry_after_http_date_and_too_long(
    make_client: Callable[..., EggAPIClient], fake: FakeEggAPI, sleeps: RecordingSleep
) -> None:
    client = make_client(backoff_cap=30.0)
    past = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    fake.fail_next("GET", r"^/v1/tasks$", 503, headers={"Retry-After": past})
    await client.list_tasks()
    assert sleeps.delays == [0.0]

    future = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    fake.fail_next("GET", r"^/v1/tasks$", 429, headers={"Retry-After": future})
    with pytest.raises(RateLimited) as info:
        await client.list_tasks()
    assert info.value.retry_after is not None and info.value.retry_after > 3000
    assert sleeps.delays == [0.0]  # did not wait an hour, gave up at once


async def test_get_retries_503_with_exponential_backoff(
    client: EggAPIClient, fake: FakeEggAPI, sleeps: RecordingSleep
) -> None:
    fake.fail_next("GET", r"^/v1/tasks/", 503, times=2)
    task = await client.generate(GenerateRequest(prompt="fox"))
    assert (await client.get_task(task.id)).is_completed
    assert len(sleeps.delays) == 2
    assert 0.5 <= sleeps.delays[0] <= 1.0 and 1.0 <= sleeps.delays[1] <= 2.0


async def test_get_retries_timeout(
    make_client: Callable[..., EggAPIClient], fake: FakeEggAPI, sleeps: RecordingSleep
) -> None:
    fake.delay_next("GET", r"^/v1/usage$", 1.0)
    page = await make_client(timeout=0.15).usage_records()
    assert isinstance(page, UsageRecordPage) and page.items == ()
    assert fake.count("GET", "/v1/usage") == 2 and len(sleeps.delays) == 1


async def test_get_retries_dropped_connection(client: EggAPIClient, fake: FakeEggAPI) -> None:
    fake.drop_next("GET", r"^/v1/tasks$")
    assert (await client.list_tasks()).items == ()
    assert fake.count("GET", "/v1/tasks") == 2


async def test_get_gives_up_after_max_attempts(
    make_client: Callable[..., EggAPIClient], fake: FakeEggAPI, sleeps: RecordingSleep
) -> None:
    fake.fail_next("GET", r"^/v1/tasks$", 503, times=10)
    with pytest.raises(ServiceUnavailable):
        await make_client(max_attempts=4, backoff_base=10.0, backoff_cap=15.0).list_tasks()
    assert fake.count("GET", "/v1/tasks") == 4
    assert len(sleeps.delays) == 3 and all(d <= 15.0 for d in sleeps.delays)
    assert 5.0 <= sleeps.delays[0] <= 10.0 and sleeps.delays[2] >= 7.5


async def test_get_does_not_retry_client_errors(client: EggAPIClient, fake: FakeEggAPI, sleeps: RecordingSleep) -> None:
    fake.fail_next("GET", r"^/v1/tasks$", 400, "BAD_REQUEST")
    with pytest.raises(BadRequest):
        await client.list_tasks()
    assert fake.count("GET", "/v1/tasks") == 1 and sleeps.delays == []


# ---------------------------------------------------------------- POST policy


async def test_post_retried_on_429_only(client: EggAPIClient, fake: FakeEggAPI, sleeps: RecordingSleep) -> None:
    fake.fail_next("POST", r"^/v1/generate$", 429, headers={"Retry-After": "1"})
    task = await client.generate(GenerateRequest(prompt="fox"))
    assert fake.count("POST", "/v1/generate") == 2 and list(fake.tasks) == [task.id]
    assert sleeps.delays == [1.0]


async def test_post_429_exhausted_raises_rate_limited(
    make_client: Callable[..., EggAPIClient], fake: FakeEggAPI
) -> None:
    fake.fail_next("POST", r"^/v1/generate$", 429, times=5)
    with pytest.raises(RateLimited):
        await make_client(max_attempts=3).generate(GenerateRequest(prompt="fox"))
    assert fake.count("POST", "/v1/generate") == 3 and fake.tasks == {}


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_post_5xx_is_outcome_unknown(
    client: EggAPIClient, fake: FakeEggAPI, sleeps: RecordingSleep, status: int
) -> None:
    fake.fail_next("POST", r"^/v1/generate$", status, process=True)
    with pytest.raises(SubmitOutcomeUnknown) as info:
        await client.generate(GenerateRequest(prompt="fox"))
    assert not isinstance(info.value, EggAPIUnavailable) and not info.value.retryable
    assert isinstance(info.value.cause, EggAPIServerError) and info.value.status == status
    assert fake.count("POST", "/v1/generate") == 1 and len(fake.tasks) == 1 and sleeps.delays == []


async def test_post_dropped_connection_is_outcome_unknown(client: EggAPIClient, fake: FakeEggAPI) -> None:
    fake.drop_next("POST", r"^/v1/generate$")
    with pytest.raises(SubmitOutcomeUnknown) as info:
        await client.generate(GenerateRequest(prompt="fox"))
    assert isinstance(info.value.cause, TransportError)
    assert fake.count("POST", "/v1/generate") == 1 and len(fake.tasks) == 1


async def test_post_timeout_is_outcome_unknown(make_client: Callable[..., EggAPIClient], fake: FakeEggAPI) -> None:
    fake.delay_next("POST", r"^/v1/generate$", 1.0)
    with pytest.raises(SubmitOutcomeUnknown) as info:
        await make_client(timeout=0.15).generate(GenerateRequest(prompt="fox"))
    assert info.value.cause is not None and info.value.cause.code == "TIMEOUT"
    assert fake.count("POST", "/v1/generate") == 1 and len(fake.tasks) == 1


async def test_post_malformed_2xx_is_outcome_unknown(client: EggAPIClient, fake: FakeEggAPI) -> None:
    fake.fail_next("POST", r"^/v1/generate$", 202, body="accepted!", process=True)
    with pytest.raises(SubmitOutcomeUnknown):
        await client.generate(GenerateRequest(prompt="fox"))
    assert fake.count("POST", "/v1/generate") == 1 and len(fake.tasks) == 1


async def test_post_connect_failure_is_transport_error(session: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = EggAPIClient(session, api_key=KEY, base_url=f"http://127.0.0.1:{port}", sleep=RecordingSleep())
    with pytest.raises(TransportError) as info:
        await client.generate(GenerateRequest(prompt="fox"))
    assert info.value.code == "CONNECT_FAILED" and not isinstance(info.value, SubmitOutcomeUnknown)


# ---------------------------------------------------------------- lists and usage


async def test_list_tasks_pagination_and_clamping(client: EggAPIClient, fake: FakeEggAPI) -> None:
    for n in range(3):
        await client.generate(GenerateRequest(prompt=f"fox {n}"))
    page = await client.list_tasks(page=1, per_page=2)
    assert isinstance(page, TaskPage) and len(page.items) == 2
    assert (page.page, page.per_page, page.total, page.total_pages) == (1, 2, 3, 2)
    assert (await client.list_tasks(page=3, per_page=2)).items == ()
    await client.list_tasks(page=0, per_page=500)
    await client.list_tasks(per_page=0)
    queries = [r.query for r in fake.requests_to("GET", "/v1/tasks")]
    assert queries[-2] == {"page": "1", "per_page": "100"}
    assert queries[-1] == {"page": "1", "per_page": "1"}


async def test_usage_summary(client: EggAPIClient, fake: FakeEggAPI) -> None:
    assert await client.usage_summary() == []
    fake.plan_next(TaskPlan(), TaskPlan(images=1), TaskPlan(outcome="failed"))
    await completed_task(client, num_outputs=2)
    await completed_task(client, num_outputs=4)
    await completed_task(client)
    rows = await client.usage_summary()
    assert rows == [UsageRow("nanobanana", Decimal(3), Decimal("0.03"), 2)]
    assert all(r.query == {} for r in fake.requests_to("GET", "/v1/usage/summary"))
    records = await client.usage_records(per_page=1)
    assert records.total == 2 and records.total_pages == 2 and records.items[0]["units"] == 1


# ---------------------------------------------------------------- downloads


async def test_download_without_authorization(client: EggAPIClient, fake: FakeEggAPI) -> None:
    task = await completed_task(client, num_outputs=2)
    images = [await client.download_image(url, max_bytes=1_000_000) for url in task.output_urls]
    assert fake.violations == []
    assert all("Authorization" not in r.headers for r in fake.requests_to("GET", "/files/"))
    assert [img.data[:8] for img in images] == [PNG_SIGNATURE, PNG_SIGNATURE]
    assert images[0].data == png_bytes(task.id, 0) and images[0].data != images[1].data
    assert images[0].content_type == "image/png" and images[0].filename == f"{task.id}-0.png"


async def test_download_type_from_the_bytes_and_retry(
    client: EggAPIClient, fake: FakeEggAPI, sleeps: RecordingSleep
) -> None:
    task = await completed_task(client)
    fake.file_content_type = "image/webp"
    fake.fail_next("GET", r"^/files/", 503)
    image = await client.download_image(task.output_urls[0], max_bytes=1_000_000)
    assert image.content_type == "image/png" and image.filename.endswith(".png") and len(sleeps.delays) == 1
    fake.file_content_type = "application/octet-stream"
    image = await client.download_image(task.output_urls[0], max_bytes=1_000_000)
    assert image.content_type == "image/png"  # the bytes decide, whatever the header says
    with pytest.raises(NotFound):
        await client.download_image(task.output_urls[0].replace("/0.png", "/9.png"), max_bytes=1_000)


@pytest.mark.parametrize("chunked", [False, True])
async def test_download_refuses_large_bodies(client: EggAPIClient, fake: FakeEggAPI, chunked: bool) -> None:
    task = await completed_task(client)
    fake.file_chunked = chunked
    with pytest.raises(DownloadTooLarge):
        await client.download_image(task.output_urls[0], max_bytes=20)
    assert fake.count("GET", "/files/") == 1


@asynccontextmanager
async def internal_service() -> AsyncIterator[tuple[str, list[str]]]:
    """Another server on 127.0.0.1 (think cloud metadata or an admin page) serving a PNG; records hits."""
    hits: list[str] = []

    async def snapshot(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=png_bytes("internal", 0), content_type="image/png")

    app = web.Application()
    app.router.add_get("/latest/meta-data/snapshot.png", snapshot)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site.port}/latest/meta-data/snapshot.png", hits
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_download_refuses_a_redirect_off_the_file_host(
    client: EggAPIClient, fake: FakeEggAPI, scheme: str
) -> None:
    task = await completed_task(client)
    async with internal_service() as (url, hits):
        fake.fail_next("GET", r"^/files/", 302, body="", headers={"Location": url.replace("http", scheme, 1)})
        with pytest.raises(MalformedResponse, match=r"redirect to .* refused"):
            await client.download_image(task.output_urls[0], max_bytes=1_000_000)
    assert hits == []  # never fetched, so never posted
    assert fake.count("GET", "/files/") == 1  # refused for good, not retried


async def test_download_follows_a_redirect_on_the_same_host(client: EggAPIClient, fake: FakeEggAPI) -> None:
    task = await completed_task(client, num_outputs=2)
    fake.fail_next("GET", r"/0\.png$", 307, body="", headers={"Location": f"/files/images/{task.id}/1.png"})
    image = await client.download_image(task.output_urls[0], max_bytes=1_000_000)
    assert image.data == png_bytes(task.id, 1) and image.filename == f"{task.id}-0.png"


async def test_download_gives_up_after_a_few_redirects(client: EggAPIClient, fake: FakeEggAPI) -> None:
    task = await completed_task(client)
    fake.fail_next("GET", r"^/files/", 302, times=50, body="", headers={"Location": task.output_urls[0]})
    with pytest.raises(MalformedResponse, match="redirects"):
        await client.download_image(task.output_urls[0], max_bytes=1_000_000)
    assert fake.count("GET", "/files/") == MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    ("location", "allowed"),
    [
        ("https://file.eggapi.ai/images/gen_1/0.png", True),
        ("https://cdn.eggapi.ai/outputs/abc.png", True),
        ("http://file.eggapi.ai/images/gen_1/0.png", False),  # no downgrade to plain http
        ("https://file.eggapi.ai.evil.example/0.png", False),
        ("https://user:pw@file.eggapi.ai/0.png", False),
        ("https://169.254.169.254/latest/meta-data/", False),
        ("/images/gen_1/1.png", True),
        ("https://api.eggapi.ai:8443/images/gen_1/0.png", False),  # another origin
    ],
)
def test_which_redirects_may_be_followed(location: str, allowed: bool) -> None:
    current = URL("https://api.eggapi.ai/images/gen_1/0.png")
    if allowed:
        assert EggAPIClient._redirect_target(current, location, "file")
    else:
        with pytest.raises(MalformedResponse):
            EggAPIClient._redirect_target(current, location, "file")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("image/png", "<!doctype html><html><body>login</body></html>"),
        ("image/svg+xml", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("image/jpeg", "not an image at all"),
    ],
)
async def test_download_refuses_what_is_not_the_image_it_claims(
    client: EggAPIClient, fake: FakeEggAPI, content_type: str, body: str
) -> None:
    task = await completed_task(client)
    fake.fail_next("GET", r"^/files/", 200, body=body, headers={"Content-Type": content_type})
    with pytest.raises(MalformedResponse, match="not a PNG, JPEG, WebP or GIF"):
        await client.download_image(task.output_urls[0], max_bytes=1_000_000)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "/relative.png",
        "https://user:pw@example.com/a.png",
        "data:image/png;base64,AAAA",
    ],
)
async def test_download_rejects_bad_urls(client: EggAPIClient, url: str) -> None:
    with pytest.raises(ValueError):
        await client.download_image(url, max_bytes=100)


# ---------------------------------------------------------------- secrecy


async def test_key_never_leaks(make_client: Callable[..., EggAPIClient], fake: FakeEggAPI) -> None:
    client = make_client(max_attempts=1)
    assert KEY not in repr(client) and KEY not in str(client) and "***" in repr(client)
    fake.fail_next("GET", r"^/v1/tasks/", 401, "UNAUTHORIZED", body=None)
    fake.fail_next("GET", r"^/v1/tasks/", 403, body=f"key {KEY} is suspended")
    errors: list[EggAPIError] = []
    for _ in range(2):
        with pytest.raises(EggAPIClientError) as info:
            await client.get_task("gen_x")
        errors.append(info.value)
    for err in errors:
        for text in (str(err), repr(err), err.message, err.user_message):
            assert KEY not in text
    assert "***" in errors[1].message
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer x"}) as leaky:
        with pytest.raises(ValueError):
            EggAPIClient(leaky, api_key=KEY)


# ---------------------------------------------------------------- fake self-checks (used by other suites)


def _verify(secret: str, ts: str, raw_body: bytes, sig_header: str) -> bool:
    """The verification snippet from the EggAPI reference, §7."""
    mac = hmac.new(secret.encode(), ts.encode() + b"." + raw_body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + mac.hexdigest(), (sig_header or "").strip().lower())


async def test_fake_webhooks_signed_and_unsigned(client: EggAPIClient, fake: FakeEggAPI) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        fake.webhook_secret = "whsec_test"
        fake.plan_next(TaskPlan(hold=True), TaskPlan(outcome="failed", duration=0.01))
        held = await client.generate(GenerateRequest(prompt="fox", webhook_url=hook_url))
        fake.finish(held.id)
        [first] = await fake.wait_for_webhooks(1)
        assert first.status == 204 and first.event == "task.completed"
        headers, raw = received[0]
        assert headers["Content-Type"] == "application/json"
        assert _verify("whsec_test", headers["X-EggAPI-Timestamp"], raw, headers["X-EggAPI-Signature"])
        payload = json.loads(raw)
        assert payload["task_id"] == held.id and payload["cost"] == "0.010000"
        assert payload["output"] == {"url": fake.tasks[held.id].output_urls[0]}
        assert payload["timestamp"] == int(headers["X-EggAPI-Timestamp"])

        timed = await client.generate(GenerateRequest(prompt="bad", webhook_url=hook_url))
        await fake.wait_for_task_status(timed.id, "failed")
        fake.webhook_secret = None
        await fake.deliver_webhook(timed.id, timestamp=1)  # a duplicate, now unsigned and stale
        deliveries = await fake.wait_for_webhooks(3)
        failed = json.loads(deliveries[1].body)
        assert failed["event"] == "task.failed" and failed["output"] is None and failed["cost"] == "0.000000"
        assert "X-EggAPI-Signature" not in received[2][0] and received[2][0]["X-EggAPI-Timestamp"] == "1"
    finally:
        await runner.cleanup()


async def test_fake_auth_messages_and_request_waiter(fake: FakeEggAPI, session: aiohttp.ClientSession) -> None:
    messages = []
    for headers in ({}, {"Authorization": f"Token {KEY}"}, {"Authorization": "Bearer wrong"}):
        async with session.get(f"{fake.url}/v1/tasks", headers=headers) as resp:
            body = await resp.json()
            assert resp.status == 401 and body["data"] is None and body["error"]["code"] == "UNAUTHORIZED"
            messages.append(body["error"]["message"])
    assert messages[0] == "Missing Authorization header"
    assert messages[1].startswith("Invalid Authorization format, expected 'B")
    seen = await fake.wait_for_request(lambda r: r.headers.get("Authorization") == "Bearer wrong", timeout=1)
    assert seen.path == "/v1/tasks"
    with pytest.raises(TimeoutError):
        await fake.wait_for_request(lambda r: r.method == "DELETE", timeout=0.05)
