"""Webhooks end to end: a signed delivery makes the bot post at once; forged ones change nothing; a burst
of them shares one read of EggAPI's task list."""

from __future__ import annotations

import socket
import time
from typing import Any

import aiohttp
import pytest

from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.starter import BotStarter
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")

SECRET = "whsec_test_secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_env(port: int) -> dict[str, Any]:  # Any: splatted into start_bot(**...)
    return {
        "EGGBOT_WEBHOOK_HOST": "127.0.0.1",
        "EGGBOT_WEBHOOK_PORT": str(port),
        "EGGBOT_WEBHOOK_PUBLIC_URL": f"http://127.0.0.1:{port}/eggapi/webhook",
        "EGGBOT_WEBHOOK_SECRET": SECRET,
        # Reads of the task list and polling are so slow here that only a webhook can explain a
        # prompt delivery.
        "EGGBOT_LIST_INTERVAL": "30",
        "EGGBOT_POLL_INTERVAL_MIN": "30",
        "EGGBOT_POLL_INTERVAL_MAX": "60",
    }


async def test_signed_webhook_delivers_at_once_and_forgeries_are_refused(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.webhook_secret = SECRET
    eggapi.default_plan = TaskPlan(hold=True)
    port = free_port()
    await start_bot(**webhook_env(port))
    await world.fake.slash(world.alice, world.general, "imagine", prompt="hooked fox")
    [egg_id] = await world.fake.wait_for(lambda f: list(eggapi.tasks) or None)
    task_request = eggapi.tasks[egg_id].request
    assert task_request["webhook_url"] == f"http://127.0.0.1:{port}/eggapi/webhook"

    url = f"http://127.0.0.1:{port}/eggapi/webhook"
    body = b'{"event": "task.completed", "task_id": "%s", "status": "completed"}' % egg_id.encode()
    now = str(int(time.time()))
    async with aiohttp.ClientSession() as session:
        forged = {"X-EggAPI-Timestamp": now, "X-EggAPI-Signature": "sha256=" + "0" * 64}
        async with session.post(url, data=body, headers=forged) as response:
            assert response.status == 401
        async with session.post(url, data=body) as response:  # unsigned while a secret is set
            assert response.status == 401
        async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["status"] == "ok"

    eggapi.finish(egg_id)  # EggAPI finishes and signs a real delivery
    await eggapi.wait_for_webhooks(1)
    result = await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=10)
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    stale = await eggapi.deliver_webhook(egg_id, timestamp=int(time.time()) - 3600)
    assert stale.status == 401
    [genuine] = [d for d in eggapi.webhook_deliveries if d.status == 200]
    async with aiohttp.ClientSession() as session:  # a replay of the genuine delivery, byte for byte
        async with session.post(url, data=genuine.body, headers=genuine.headers) as response:
            assert response.status == 200 and (await response.json()).get("duplicate") is True
    assert len([m for m in world.fake.messages(world.general) if m.attachments]) == 1
    assert_clean(world.fake)


async def test_a_burst_of_webhooks_shares_one_read_of_the_task_list(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """Twelve jobs finish together: the bot reads the list for them at once instead of asking for each."""
    eggapi.webhook_secret = SECRET
    eggapi.default_plan = TaskPlan(hold=True)
    roomy = {"EGGBOT_MAX_RUNNING_TOTAL": "20", "EGGBOT_MAX_RUNNING_PER_MEMBER": "20"}
    bot = await start_bot(**webhook_env(free_port()) | roomy)
    for i in range(12):
        await (await world.fake.slash(world.alice, world.general, "imagine", prompt=f"hooked fox {i}")).wait_ack()
    await eggapi.wait_until(lambda: len(eggapi.tasks) == 12 and all(t.webhook_url for t in eggapi.tasks.values()))
    await world.fake.wait_for(lambda f: bot.tracker.sweeper.following == 12 or None)
    before = len(eggapi.requests)
    for egg_id in list(eggapi.tasks):
        eggapi.finish(egg_id)  # twelve signed webhooks, at once
    await world.fake.wait_for(
        lambda f: sum(len(m.attachments) for m in f.messages(world.general)) == 12 or None, timeout=10
    )
    reads = [r for r in eggapi.requests[before:] if r.method == "GET" and r.path.startswith("/v1/tasks")]
    assert len(reads) < 12  # not one GET per job
    assert bot.tracker.sweeper.stats.lookups >= 1
    assert_clean(world.fake)
