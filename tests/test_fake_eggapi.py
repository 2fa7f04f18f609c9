"""The fake EggAPI's own controls that tests lean on for an order of events (``hold``)."""

from __future__ import annotations

import asyncio

import aiohttp

from testkit.fake_eggapi import DEFAULT_API_KEY, FakeEggAPI


async def test_a_held_request_waits_unperformed_until_released_and_the_hold_then_goes(eggapi: FakeEggAPI) -> None:
    release = eggapi.hold("GET", r"^/v1/tasks$")
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def list_ids() -> list[str]:
            async with session.get(f"{eggapi.url}/v1/tasks") as response:
                assert response.status == 200
                return [item["id"] for item in (await response.json())["data"]["items"]]

        held = asyncio.ensure_future(list_ids())
        await eggapi.wait_for_request(lambda r: r.path == "/v1/tasks")
        async with session.post(f"{eggapi.url}/v1/generate", json={"prompt": "a fox", "model": "nanobanana"}) as made:
            assert made.status == 202  # other requests pass meanwhile
        assert not held.done()
        release.set()
        [egg_id] = list(eggapi.tasks)
        assert await asyncio.wait_for(held, 5) == [egg_id]  # performed after the release: the new task is in it
        assert await asyncio.wait_for(list_ids(), 5) == [egg_id]  # and the next one is not held
