"""The bot's public web server end to end: what a stranger on the internet can and cannot do to it."""

from __future__ import annotations

import aiohttp

from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan
from testkit.starter import BotStarter
from testkit.world import World
from tests.test_e2e_webhooks import free_port


async def test_health_only_mode_refuses_forged_webhooks(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.default_plan = TaskPlan(hold=True)
    port = free_port()
    bot = await start_bot(EGGBOT_HEALTHZ="true", EGGBOT_WEBHOOK_HOST="127.0.0.1", EGGBOT_WEBHOOK_PORT=str(port))
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a quiet fox")
    [egg_id] = await world.fake.wait_for(lambda f: list(eggapi.tasks) or None)
    hints: list[str] = []
    real_hint = bot.tracker.hint

    async def counted(egg_task_id: str) -> bool:
        hints.append(egg_task_id)
        return await real_hint(egg_task_id)

    bot.tracker.hint = counted  # type: ignore[method-assign]
    body = b'{"event": "task.completed", "task_id": "%s", "status": "completed"}' % egg_id.encode()
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.post(f"http://127.0.0.1:{port}/eggapi/webhook", data=body) as response:
                assert response.status == 404
        async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}  # a job is in flight, and nobody is told
    assert hints == []
    assert_clean(world.fake)
