"""`python -m bot` as an operator runs it: env vars only, against the fakes, one full /imagine."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path

import aiohttp

from bot.bookkeeping import Bookkeeper
from bot.db import Database
from bot.db.task_store import TaskStore, utcnow
from bot.eggapi import EggAPIClient, GenerateRequest
from bot.jobs import JobService
from bot.ledger import Ledger, LedgerDefaults
from bot.tasks import ImagineRequest, TaskStatus
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


async def _operator(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_python_m_bot_unconfirmed_lists_and_settles_them(
    tmp_path: Path, world: World, eggapi: FakeEggAPI
) -> None:
    env = bot_env(tmp_path, world.fake, eggapi.url)
    async with await Database.open(tmp_path / "data" / "eggbot.db") as db:  # a submit whose answer was lost
        store = TaskStore(db)
        ledger = Ledger(db, LedgerDefaults(member_limit=Decimal("1.00"), period="day"))
        task = await JobService(db, store, ledger, Bookkeeper(db, store, ledger)).create(
            ImagineRequest(guild_id=1, channel_id=2, member_id=3, prompt="a lost fox")
        )
        await store.transition(task.id, TaskStatus.QUEUED, TaskStatus.SUBMITTING, submitted_at=utcnow())
        await store.transition(task.id, TaskStatus.SUBMITTING, TaskStatus.UNKNOWN, error="TIMEOUT")
    async with aiohttp.ClientSession() as session:
        egg = await EggAPIClient(session, api_key=DEFAULT_API_KEY, base_url=eggapi.url).generate(
            GenerateRequest(prompt="a lost fox")
        )

    code, out, err = await _operator(env, tmp_path, "unconfirmed")
    assert code == 0, err
    assert f"task {task.id}" in out and "'a lost fox'" in out and egg.id in out
    code, out, err = await _operator(env, tmp_path, "unconfirmed", "adopt", str(task.id), "gen_nonexistent")
    assert code == 1 and err.strip().splitlines()[-1] == "eggbot: EggAPI does not know a task 'gen_nonexistent'."
    code, out, err = await _operator(env, tmp_path, "unconfirmed", "adopt", str(task.id), egg.id)
    assert code == 0 and f"task {task.id} now follows EggAPI task {egg.id}" in out, err
    for malformed in (["release"], ["release", "²"], ["release", "1", "--now"], ["adopt", "1"]):
        code, out, err = await _operator(env, tmp_path, "unconfirmed", *malformed)
        assert code == 2 and "usage: python -m bot" in err, malformed
    elsewhere = {**env, "DATABASE_PATH": str(tmp_path / "nowhere" / "eggbot.db")}
    code, out, err = await _operator(elsewhere, tmp_path, "unconfirmed")
    assert code == 1 and "cannot use the bot's database" in err and not (tmp_path / "nowhere").exists()
    async with await Database.open(tmp_path / "data" / "eggbot.db") as db:
        adopted = await TaskStore(db).get(task.id)
    assert adopted is not None and adopted.status is TaskStatus.RUNNING and adopted.egg_task_id == egg.id
    code, out, _ = await _operator(env, tmp_path, "unconfirmed")
    assert code == 0 and out.strip() == "No unconfirmed submits."
