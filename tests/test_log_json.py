"""JSON log lines (``EGGBOT_LOG_FORMAT=json``): one object per record, the job's ids where known, no secrets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import logs
from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import DEFAULT_API_KEY, FakeEggAPI
from testkit.processes import BotProcess
from testkit.starter import BotStarter
from testkit.world import World

BOT_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.bot-token-that-must-never-be-written"
INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ.x-y_z"


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    """Every line written, each parsed as one JSON object."""
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What a handler set up like the bot's with EGGBOT_LOG_FORMAT=json writes, for the ``eggtest`` logger."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonLines())
    logs.install(handler, secrets=[BOT_TOKEN, DEFAULT_API_KEY, None])
    logger = logging.getLogger("eggtest")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def test_one_object_per_record_with_the_context(written: io.StringIO) -> None:
    log = logging.getLogger("eggtest")
    log.info("plain\nwith a second line")
    with logs.log_context(task_id=7):
        logs.note_task(7, 42, 99)  # the step's own task: its guild and member join the context
        log.warning("task %s: still running", 7)
        logs.note_task(8, 1, 2)  # another task read on the way changes nothing
        log.info("again")
    log.info("given", extra={"task_id": 3, "guild_id": 4, "member_id": 5, "prompt": "a private prompt"})
    [plain, warned, again, given] = lines(written)
    assert plain["message"] == "plain\nwith a second line" and plain["level"] == "INFO"
    assert plain["logger"] == "eggtest" and plain["time"].endswith("+00:00")
    assert "task_id" not in plain
    assert (warned["task_id"], warned["guild_id"], warned["member_id"]) == (7, 42, 99)
    assert warned["message"] == "task 7: still running" and warned["level"] == "WARNING"
    assert (again["task_id"], again["guild_id"], again["member_id"]) == (7, 42, 99)
    assert (given["task_id"], given["guild_id"], given["member_id"]) == (3, 4, 5)
    assert "prompt" not in given  # only the known fields: extra values are not dumped


def test_secrets_never_reach_a_line(written: io.StringIO) -> None:
    log = logging.getLogger("eggtest")
    log.info("logging in with %s", BOT_TOKEN)
    log.debug("POST https://discord.com/api/v10/interactions/1234567890/%s/callback", INTERACTION_TOKEN)
    try:
        raise RuntimeError(f"EggAPI said no to {DEFAULT_API_KEY}")
    except RuntimeError:
        log.exception("failed")
    text = written.getvalue()
    assert BOT_TOKEN not in text and INTERACTION_TOKEN not in text and DEFAULT_API_KEY not in text
    [login, callback, failure] = lines(written)
    assert login["message"] == "logging in with ***"
    assert "/interactions/1234567890/***/callback" in callback["message"]
    assert "RuntimeError: EggAPI said no to ***" in failure["exception"]


async def test_context_follows_each_asyncio_task() -> None:
    seen: dict[int, dict[str, int]] = {}

    async def step(task_id: int) -> None:
        with logs.log_context(task_id=task_id):
            await asyncio.sleep(0)  # interleave with the other step
            seen[task_id] = logs.current_log_context()

    await asyncio.gather(step(1), step(2))
    assert seen == {1: {"task_id": 1}, 2: {"task_id": 2}}
    assert logs.current_log_context() == {}


async def test_a_real_jobs_lines_name_its_task_server_and_member(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonLines())
    logs.install(handler)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level, root.level = root.level, logging.INFO
    try:
        bot = await start_bot()
        handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="a logged fox")
        status = await handle.wait_response()
        await world.fake.wait_for(lambda f: f.message(status.id).deleted or None)  # recorded delivered
        task = await bot.task_store.get(1)
        assert task is not None
    finally:
        root.removeHandler(handler)
        root.level = old_level
    records = lines(out)
    about_the_job = [r for r in records if r.get("task_id") == task.id]
    assert any("delivered" in r["message"] for r in about_the_job)
    assert all(r["guild_id"] == world.guild.id and r["member_id"] == world.alice.id for r in about_the_job)
    assert not [r for r in records if r.get("member_id") not in (None, world.alice.id)]
    assert_clean(world.fake)


async def test_python_m_bot_writes_only_json_lines(tmp_path: Path, world: World, eggapi: FakeEggAPI) -> None:
    process = BotProcess(tmp_path, world.fake, eggapi, EGGBOT_LOG_FORMAT="json")
    await process.start()
    try:
        await world.fake.slash(world.alice, world.general, "imagine", prompt="a fox in a log file")
        await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=30)
    finally:
        assert await process.stop() == 0
    output = process.output()
    records = [json.loads(line) for line in output.splitlines()]  # every line is one JSON object
    assert any(r["message"].startswith("starting: ") for r in records)
    assert any("task_id" in r and "member_id" in r for r in records)
    assert world.fake.token not in output and DEFAULT_API_KEY not in output
