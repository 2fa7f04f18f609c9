"""`python -m bot` as an operator runs it: env vars only, against the fakes, one full /imagine."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.bot_process import BotProcess, bot_env
from tests.conftest import World
from tests.fakes.discord_harness import assert_clean
from tests.fakes.eggapi import DEFAULT_API_KEY, FakeEggAPI, png_bytes


async def test_python_m_bot_round_trip(tmp_path: Path, world: World, eggapi: FakeEggAPI) -> None:
    fake = world.fake
    bot = BotProcess(tmp_path, fake, eggapi)
    try:
        await bot.start()
        await fake.wait_for(lambda f: f.sync_count >= 1, timeout=10)
        handle = await fake.slash(world.alice, world.general, "imagine", prompt="a fox from a subprocess", count=2)
        await handle.wait_ack()
        result = await fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=20)
        [egg_id] = list(eggapi.tasks)
        assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0), png_bytes(egg_id, 1)]
        assert world.alice.mention in result.content and "a fox from a subprocess" in result.content
    finally:
        code = await bot.stop()
    output = bot.output()
    assert code == 0, output
    assert "stop requested" in output
    assert fake.token not in output and DEFAULT_API_KEY not in output  # secrets never logged
    assert (tmp_path / "data" / "eggbot.db").exists()
    assert_clean(fake)


async def test_python_m_bot_sync_forces_a_sync_and_exits(tmp_path: Path, world: World) -> None:
    fake = world.fake
    env = bot_env(tmp_path, fake, "http://127.0.0.1:9")  # EggAPI is never contacted by a sync
    for expected_syncs in (1, 2):  # forced even when nothing changed
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "sync", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, output.decode()
        assert fake.sync_count == expected_syncs
    assert fake.gateway.identify_count == 0  # a sync logs in over REST only
    assert {c["name"] for c in fake.global_commands} == {"imagine", "balance", "quota", "usage"}
