"""``GET /metrics`` end to end: a real bot, one /imagine through the fakes, then a scrape over HTTP."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter
from testkit.world import World
from tests.test_e2e_webhooks import free_port

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int) -> tuple[int, Samples]:
    """The status of ``GET /metrics`` and, when it is 200, every sample by (name, sorted labels)."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            if response.status != 200:
                return response.status, {}
            assert response.content_type == "text/plain"
            text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return 200, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def is_result(message: FakeMessage) -> bool:
    return bool(message.attachments) and not message.ephemeral


async def test_one_imagine_moves_the_counters(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    port = free_port()
    await start_bot(EGGBOT_METRICS="true", EGGBOT_WEBHOOK_HOST="127.0.0.1", EGGBOT_WEBHOOK_PORT=str(port))
    status, before = await scrape(port)
    assert status == 200
    assert value(before, "eggbot_tasks", state="delivered") == 0
    assert value(before, "eggbot_ack_latency_seconds_count") == 0

    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="a red fox in snow")
    await handle.wait_ack()
    status_message = await handle.wait_response()
    await world.fake.wait_for_message(world.general, is_result)
    # The status message goes once the job is recorded delivered (and its delivery observed).
    await world.fake.wait_for(lambda f: f.message(status_message.id).deleted or None)
    status, after = await scrape(port)
    assert status == 200
    assert value(after, "eggbot_tasks", state="delivered") == 1
    assert value(after, "eggbot_tasks", state="queued") == 0 and value(after, "eggbot_queue_length") == 0
    assert value(after, "eggbot_ack_latency_seconds_count") == 1  # the /imagine's acknowledgement
    assert value(after, "eggbot_ack_latency_seconds_bucket", le="3.0") == 1
    assert value(after, "eggbot_delivery_delay_seconds_count") == 1
    assert value(after, "eggbot_eggapi_requests_total", endpoint="/v1/generate", code="202") == 1
    assert value(after, "eggbot_eggapi_requests_total", endpoint="/v1/tasks", code="200") >= 1  # its list, read
    assert value(after, "eggbot_eggapi_requests_total", endpoint="download", code="200") == 1
    assert value(after, "eggbot_spend_settled_dollars") == 0.01
    assert value(after, "eggbot_spend_held_dollars") == 0
    assert_clean(world.fake)


async def test_discord_429s_are_counted(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    port = free_port()
    await start_bot(EGGBOT_METRICS="true", EGGBOT_WEBHOOK_HOST="127.0.0.1", EGGBOT_WEBHOOK_PORT=str(port))
    world.fake.enable_rate_limit(limit=5, per=0.5)
    world.fake.exhaust_rate_limit(world.general)  # other traffic has just used the channel's bucket
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a patient fox")
    await world.fake.wait_for_message(world.general, is_result)  # discord.py waited and posted again
    limited = [r for r in world.fake.requests if r.status == 429]
    assert limited
    _, samples = await scrape(port)
    assert value(samples, "eggbot_discord_rate_limited_total", scope="user") == len(limited)
    assert_clean(world.fake)


async def test_off_by_default(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    port = free_port()
    await start_bot(EGGBOT_HEALTHZ="true", EGGBOT_WEBHOOK_HOST="127.0.0.1", EGGBOT_WEBHOOK_PORT=str(port))
    status, _ = await scrape(port)
    assert status == 404
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as response:
        assert response.status == 200  # the same server, serving what it did before
