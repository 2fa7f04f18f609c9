"""A failed task's record keeps what kind of failure it was, never EggAPI's free text."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.lifecycle.model import TaskStatus
from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import DEFAULT_API_KEY, FakeEggAPI, TaskPlan
from testkit.starter import BotStarter
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")

SECRET = "whsec_do_not_store_me"


def database_bytes(folder: Path) -> bytes:
    """Every byte of the database, its journal included."""
    return b"".join(p.read_bytes() for p in sorted(folder.glob("eggbot.db*")))


async def test_a_failure_text_echoing_secrets_is_not_stored(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    echo = f"worker crashed; key={DEFAULT_API_KEY} secret={SECRET} content moderation retry"
    eggapi.plan_next(TaskPlan(outcome="failed", error=echo))
    bot = await start_bot(EGGBOT_WEBHOOK_SECRET=SECRET)
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a leaky fox")
    notice = await world.fake.wait_for_message(world.general, lambda m: "not made" in m.content)
    assert "content filter" in notice.content and DEFAULT_API_KEY not in notice.content
    task = await bot.task_store.get(1)
    assert task is not None and task.status is TaskStatus.FAILED
    assert task.error == "CONTENT_MODERATION"
    await start_bot.stop()  # every page written out
    stored = database_bytes(tmp_path)
    assert DEFAULT_API_KEY.encode() not in stored and SECRET.encode() not in stored
    assert_clean(world.fake)
