"""/mydata and /policy forget end to end, as members and moderators see them in the fake Discord."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import pytest

from bot.app.client import EggBot
from bot.lifecycle.model import TaskStatus
from testkit.fake_discord import ClientRefusal, FakeChannel, FakeMember, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter
from testkit.world import World, answer

SECRET = "a secret red fox"


def is_result(prompt: str) -> Any:
    return lambda message: bool(message.attachments) and prompt in message.content


class Deliveries:
    """Tasks recorded as delivered, counted from the bot's start (a posted result is recorded just after)."""

    def __init__(self, bot: EggBot) -> None:
        self.count, self.changed = 0, asyncio.Event()
        bot.task_store.add_listener(self._on_change)

    def _on_change(self, task_id: int, new: TaskStatus) -> None:
        if new is TaskStatus.DELIVERED:
            self.count += 1
            self.changed.set()

    async def wait(self, count: int) -> None:
        while self.count < count:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 10)


def text_of(message: FakeMessage) -> str:
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


async def ask(world: World, user: FakeMember, *path: str, **options: Any) -> FakeMessage:
    reply = await answer(world, user, *path, **options)
    assert reply.ephemeral and reply.visible_to == user.id, reply.content
    return reply


async def press(world: World, user: FakeMember, message: FakeMessage, label: str) -> FakeMessage:
    handle = await world.fake.click(user, message, message.button(label).custom_id)
    await handle.wait_ack()
    return world.fake.message(message.id)


async def test_a_member_sees_and_deletes_their_data_and_the_spend_stays(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    bot = await start_bot()
    delivered = Deliveries(bot)
    await world.fake.slash(world.alice, world.general, "imagine", prompt=SECRET, negative_prompt="blurry edges")
    result = await world.fake.wait_for_message(world.general, is_result(SECRET))
    await world.fake.slash(world.bob, world.general, "imagine", prompt="bob's own badger")
    await world.fake.wait_for_message(world.general, is_result("bob's own badger"))
    await delivered.wait(2)

    shown = await ask(world, world.alice, "mydata", "show")
    assert "**1 job** (1 finished, 0 still running)" in shown.content and SECRET in shown.content
    assert f"https://discord.com/channels/{world.guild.id}/{world.general.id}/{result.id}" in shown.content
    assert "badger" not in shown.content
    listing = shown.attachment("my-prompts.txt").data.decode()
    assert SECRET in listing and "negative: blurry edges" in listing and "badger" not in listing
    spent = (await bot.members.record(world.guild.id, world.alice.id)).settled
    assert spent > 0

    question = await ask(world, world.alice, "mydata", "delete")
    assert "1 finished job" in question.content and "cannot be undone" in question.content
    done = await press(world, world.alice, question, "Delete")
    assert "Deleted your prompts" in done.content and "1 finished job" in done.content and not done.buttons

    again = await ask(world, world.alice, "mydata", "show")
    assert SECRET not in again.content and "No prompts of yours" in again.content
    assert SECRET not in again.attachment("my-prompts.txt").data.decode()
    assert (await bot.members.record(world.guild.id, world.alice.id)).settled == spent
    nothing = await ask(world, world.alice, "mydata", "delete")
    assert "nothing of your" in nothing.content and not nothing.buttons

    # The moderators' report and its CSV show the placeholder, and the same spend.
    handle = await world.fake.slash(mod, world.general, "usage", member=world.alice, period="all", export=True)
    report = await handle.wait_response()
    assert SECRET not in text_of(report) and "deleted by the member" in text_of(report)
    export = await handle.wait_followup(1)
    data = next(a for a in export.attachments if a.filename.endswith(".csv")).data
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    task_rows = [r for r in rows if r["prompt"]]
    assert [r["prompt"] for r in task_rows] == ["(deleted by the member)"]
    assert sum(float(r["cost"]) for r in task_rows) == float(spent)

    # The old post's Reroll cannot run the placeholder.
    reroll = await world.fake.click(world.alice, result, result.button("Reroll").custom_id)
    refused = await reroll.wait_response()
    assert refused.ephemeral and "prompt was deleted" in refused.content
    assert eggapi.count("POST", "/v1/generate") == 2
    assert_clean(world.fake)


async def test_a_moderator_forgets_a_member_who_left(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember, mods: FakeChannel
) -> None:
    bot = await start_bot()
    delivered = Deliveries(bot)
    await ask(world, mod, "policy", "modlog", channel=mods)
    await world.fake.slash(world.bob, world.general, "imagine", prompt="bob's private badger")
    await world.fake.wait_for_message(world.general, is_result("bob's private badger"))
    await delivered.wait(1)
    world.fake.remove_member(world.guild, world.bob)

    question = await ask(world, mod, "policy", "forget", member_id=str(world.bob.id))
    assert f"<@{world.bob.id}>'s" in question.content and "1 finished job" in question.content
    done = await press(world, mod, question, "Delete")
    assert f"Deleted <@{world.bob.id}>'s prompts" in done.content

    line = await world.fake.wait_for_message(mods, lambda m: "erased" in m.content)
    assert (
        f"🧹 <@{mod.id}> erased the stored prompts and links of <@{world.bob.id}> ({world.bob.id}): 1 job; "
        "the ledger's amounts are kept"
    ) in line.content
    record = await bot.members.record(world.guild.id, world.bob.id)
    assert [task.prompt for task in record.tasks] == ["(deleted by a moderator)"] and record.settled > 0
    assert "not a user id" in (await ask(world, mod, "policy", "forget", member_id="bob")).content
    assert_clean(world.fake)


async def test_members_cannot_forget_anyone(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    bot = await start_bot()
    delivered = Deliveries(bot)
    await world.fake.slash(world.bob, world.general, "imagine", prompt="bob keeps this")
    await world.fake.wait_for_message(world.general, is_result("bob keeps this"))
    await delivered.wait(1)
    with pytest.raises(ClientRefusal):
        await world.fake.slash(world.alice, world.general, "policy", "forget", member_id=str(world.bob.id))
    refused = await ask(world, world.alice, "policy", "forget", member_id=str(world.bob.id), validate=False)
    assert "Manage Server" in refused.content and not refused.buttons
    record = await bot.members.record(world.guild.id, world.bob.id)
    assert [task.prompt for task in record.tasks] == ["bob keeps this"]
    assert_clean(world.fake)
