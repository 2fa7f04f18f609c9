"""The playground's simulated EggAPI, through the bot's real EggAPIClient over loopback."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from PIL import Image

from bot.eggapi import (
    EggAPIClient,
    EggTask,
    GenerateRequest,
    InsufficientBalance,
    RateLimited,
    Unauthorized,
)
from bot.i18n import texts
from bot.lifecycle.ports import describe_failure, failure_code
from testkit.fake_eggapi import Picture, SimulatedEggAPI, TaskPlan, render_png

MAX_BYTES = 10 * 1024 * 1024  # Discord's default upload limit
SECONDS = (0.2, 0.4)


class RecordingSleep:
    """Injected ``sleep``: records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedEggAPI]:
    async with SimulatedEggAPI(seconds=SECONDS, webhook_secret="whsec_sim") as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
def make_client(sim: SimulatedEggAPI, session: aiohttp.ClientSession) -> Callable[..., EggAPIClient]:
    def make(**overrides: Any) -> EggAPIClient:
        options: dict[str, Any] = {"api_key": "any-key-at-all", "base_url": sim.url, "timeout": 5.0}
        options.update(overrides)
        return EggAPIClient(session, **options)

    return make


@pytest.fixture
def client(make_client: Callable[..., EggAPIClient]) -> EggAPIClient:
    return make_client(max_attempts=1)


async def finished(sim: SimulatedEggAPI, client: EggAPIClient, task_id: str) -> EggTask:
    await sim.wait_for_task_status(task_id, ("completed", "failed"), timeout=10)
    return await client.get_task(task_id)


async def images(sim: SimulatedEggAPI, client: EggAPIClient, **request: Any) -> list[bytes]:
    """Submit, wait for completion, download every output."""
    task = await client.generate(GenerateRequest(**request))
    done = await finished(sim, client, task.id)
    assert done.status == "completed", done.error
    return [(await client.download_image(url, max_bytes=MAX_BYTES)).data for url in done.output_urls]


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# ---------------------------------------------------------------- time, not polls


async def test_status_follows_the_clock_not_the_polls(session: aiohttp.ClientSession) -> None:
    async with SimulatedEggAPI(seconds=2.0) as sim:  # pending for the first 0.4 s
        client = EggAPIClient(session, api_key="any", base_url=sim.url, max_attempts=1)
        began = time.monotonic()
        task = await client.generate(GenerateRequest(prompt="a lighthouse at dusk", num_outputs=2))
        assert task.status == "pending" and task.cost == 0
        for _ in range(3):  # polling does not hurry it
            assert (await client.get_task(task.id)).status == "pending"
        await sim.wait_for_task_status(task.id, "processing")
        running = await client.get_task(task.id)
        assert running.status == "processing" and running.started_at is not None and not running.output_urls
        done = await finished(sim, client, task.id)
        assert time.monotonic() - began >= 1.95
        assert done.status == "completed" and len(done.output_urls) == 2
        assert done.cost == Decimal("0.02") and done.completed_at is not None


def test_duration_comes_from_the_prompt_within_the_range() -> None:
    sim = SimulatedEggAPI(seconds=(3.0, 6.0))
    durations = {sim.duration_for(f"prompt {i}") for i in range(20)}
    assert all(3.0 <= d <= 6.0 for d in durations) and len(durations) > 10
    assert sim.duration_for("a fox") == sim.duration_for("a fox")
    assert SimulatedEggAPI(seconds=2.5).duration_for("anything") == 2.5
    with pytest.raises(ValueError):
        SimulatedEggAPI(seconds=(4.0, 1.0))


async def test_a_queued_plan_still_wins(sim: SimulatedEggAPI, client: EggAPIClient) -> None:
    sim.plan_next(TaskPlan(images=1))  # the test fake's default: done on the first poll
    task = await client.generate(GenerateRequest(prompt="quick", num_outputs=3))
    done = await client.get_task(task.id)
    assert done.status == "completed" and len(done.output_urls) == 1


# ---------------------------------------------------------------- pictures


@pytest.mark.parametrize(
    ("aspect_ratio", "resolution", "size"),
    [
        ("16:9", "1k", (1024, 576)),
        ("9:16", "1k", (576, 1024)),
        ("16:9", "2k", (2048, 1152)),
        ("9:16", "2k", (1152, 2048)),
        ("16:9", "4k", (4096, 2304)),
        ("9:16", "4k", (2304, 4096)),
        (None, None, (1024, 576)),
    ],
)
async def test_outputs_are_pngs_of_the_requested_size(
    sim: SimulatedEggAPI, client: EggAPIClient, aspect_ratio: str | None, resolution: str | None, size: tuple[int, int]
) -> None:
    [data] = await images(sim, client, prompt="a koi pond", aspect_ratio=aspect_ratio, resolution=resolution)
    image = decode(data)
    assert image.format == "PNG" and image.size == size
    assert len(data) < MAX_BYTES
    assert len(image.getcolors(1 << 20) or []) > 10  # a picture, not a flat square


async def test_same_prompt_same_image_other_prompt_other_image(sim: SimulatedEggAPI, client: EggAPIClient) -> None:
    first = await images(sim, client, prompt="a red fox in snow", num_outputs=2)
    again = await images(sim, client, prompt="a red fox in snow", num_outputs=2)
    other = await images(sim, client, prompt="a blue whale at night", num_outputs=2)
    assert first == again
    assert first[0] != first[1]  # each image of a task is its own
    assert not set(first) & set(other)


async def test_an_edit_visibly_uses_its_reference(sim: SimulatedEggAPI, client: EggAPIClient) -> None:
    source = await client.generate(GenerateRequest(prompt="a striped cat"))
    source_url = (await finished(sim, client, source.id)).output_urls[0]
    [plain] = await images(sim, client, prompt="make it winter")
    edit = await client.generate(GenerateRequest(prompt="make it winter", image_urls=(source_url,)))
    assert edit.type == "image_edit"
    done = await finished(sim, client, edit.id)
    assert [f.status for f in sim.input_fetches] == [200]
    edited = (await client.download_image(done.output_urls[0], max_bytes=MAX_BYTES)).data
    assert edited != plain
    assert sim.tasks[edit.id].inputs == [(await client.download_image(source_url, max_bytes=MAX_BYTES)).data]
    plain_colours = {c for _, c in decode(plain).convert("RGB").getcolors(1 << 20) or []}
    edited_colours = {c for _, c in decode(edited).convert("RGB").getcolors(1 << 20) or []}
    assert len(edited_colours - plain_colours) > 20  # the pasted, tinted reference


async def test_a_reference_that_is_gone_fails_the_edit(sim: SimulatedEggAPI, client: EggAPIClient) -> None:
    edit = await client.generate(GenerateRequest(prompt="edit", image_urls=(f"{sim.url}/files/images/nope/0.png",)))
    done = await finished(sim, client, edit.id)
    assert done.status == "failed" and done.error == "Failed to download image_urls[0]: HTTP 404"
    assert done.cost == 0


def test_render_is_deterministic_and_reads_unreadable_references_as_placeholders() -> None:
    picture = Picture("a teapot", 0, references=(b"not an image",))
    assert render_png(picture) == render_png(picture)
    assert decode(render_png(picture)).size == (1024, 576)
    assert render_png(picture) != render_png(Picture("a teapot", 0))


# ---------------------------------------------------------------- triggers


@pytest.mark.parametrize("prompt", ["an NSFW poster", "something Prohibited here"])
async def test_moderation_trigger_fails_the_task(sim: SimulatedEggAPI, client: EggAPIClient, prompt: str) -> None:
    task = await client.generate(GenerateRequest(prompt=prompt))
    assert task.status == "pending"
    done = await finished(sim, client, task.id)
    assert done.status == "failed" and done.output_urls == ()
    assert done.error == "Content moderation: prompt contains prohibited content"
    assert done.cost == 0
    assert failure_code(done.error) == "CONTENT_MODERATION"
    assert "content filter" in texts(None).render(describe_failure(done.error))


async def test_out_of_credit_trigger_refuses_the_submit(sim: SimulatedEggAPI, client: EggAPIClient) -> None:
    with pytest.raises(InsufficientBalance) as caught:
        await client.generate(GenerateRequest(prompt="we are OUT OF CREDIT"))
    assert caught.value.status == 403 and caught.value.code == "INSUFFICIENT_BALANCE"
    assert sim.tasks == {}


async def test_busy_trigger_answers_429_with_retry_after(sim: SimulatedEggAPI, client: EggAPIClient) -> None:
    with pytest.raises(RateLimited) as caught:
        await client.generate(GenerateRequest(prompt="Server Busy please"))
    assert caught.value.status == 429 and caught.value.code == "RATE_LIMITED"
    assert caught.value.retry_after == 1.0
    assert sim.tasks == {}


async def test_busy_prompt_is_accepted_after_its_refusals(
    sim: SimulatedEggAPI, make_client: Callable[..., EggAPIClient]
) -> None:
    sim.busy_refusals = 2
    sleeps = RecordingSleep()
    client = make_client(max_attempts=5, sleep=sleeps, rng=random.Random(1))
    task = await client.generate(GenerateRequest(prompt="server busy"))
    assert sleeps.delays == [1.0, 1.0] and task.status == "pending"
    with pytest.raises(RateLimited):  # and the next submit of that prompt meets a busy server again
        await make_client(max_attempts=1).generate(GenerateRequest(prompt="server busy"))


# ---------------------------------------------------------------- money, auth, list, webhooks


async def test_usage_summary_adds_up_at_one_cent_an_image(sim: SimulatedEggAPI, client: EggAPIClient) -> None:
    assert await client.usage_summary() == []
    tasks = [
        await client.generate(GenerateRequest(prompt="one image")),
        await client.generate(GenerateRequest(prompt="three images", num_outputs=3)),
        await client.generate(GenerateRequest(prompt="nsfw, refused")),
    ]
    done = [await finished(sim, client, t.id) for t in tasks]
    assert [t.cost for t in done] == [Decimal("0.01"), Decimal("0.03"), Decimal("0")]
    [row] = await client.usage_summary()
    assert (row.model, row.request_count) == ("nanobanana", 2)
    assert (row.total_units, row.total_cost) == (Decimal(4), Decimal("0.04"))
    page = await client.list_tasks()
    assert [t.id for t in page.items] == [t.id for t in reversed(tasks)]


async def test_any_key_by_default_only_the_configured_one_otherwise(
    session: aiohttp.ClientSession, sim: SimulatedEggAPI, client: EggAPIClient
) -> None:
    assert sim.api_key  # a key to give the bot
    assert await client.usage_summary() == []
    async with SimulatedEggAPI(api_key="egg_sk_playground") as strict:
        good = EggAPIClient(session, api_key="egg_sk_playground", base_url=strict.url, max_attempts=1)
        bad = EggAPIClient(session, api_key="another", base_url=strict.url, max_attempts=1)
        assert await good.usage_summary() == []
        with pytest.raises(Unauthorized):
            await bad.usage_summary()
    async with session.get(f"{sim.url}/v1/usage/summary") as response:
        assert response.status == 401


async def test_webhook_is_signed_and_reports_the_cost(sim: SimulatedEggAPI, client: EggAPIClient) -> None:
    task = await client.generate(GenerateRequest(prompt="a kite", num_outputs=2, webhook_url=f"{sim.url}/hook"))
    [delivery] = await sim.wait_for_webhooks(1, timeout=10)
    payload = json.loads(delivery.body)
    assert payload["event"] == "task.completed" and payload["task_id"] == task.id
    assert payload["cost"] == "0.020000" and payload["output"]["url"].endswith("/0.png")
    timestamp = delivery.headers["X-EggAPI-Timestamp"]
    mac = hmac.new(b"whsec_sim", timestamp.encode() + b"." + delivery.body, hashlib.sha256)
    assert delivery.headers["X-EggAPI-Signature"] == "sha256=" + mac.hexdigest()
