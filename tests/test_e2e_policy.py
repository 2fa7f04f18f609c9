"""Prompt policy end to end: what members and moderators see, and that a refusal costs nothing."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app.client import EggBot
from testkit.fake_discord import ClientRefusal, FakeChannel, FakeMember, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter, any_db
from testkit.world import World, answer

pytestmark = pytest.mark.usefixtures("on_each_backend")

REFUSED = "This server's rules don't allow something in your prompt"


def is_result(message: FakeMessage) -> bool:
    return bool(message.attachments)


async def tasks_recorded(bot: EggBot) -> int:
    row = await any_db(bot).fetchone("SELECT COUNT(*) AS n FROM tasks")
    assert row is not None
    return int(row["n"])


async def say(world: World, user: FakeMember, *path: str, where: FakeChannel | None = None, **options: Any) -> str:
    """Run a slash command in ``where`` (#general by default) and return its ephemeral answer."""
    reply = await answer(world, user, *path, where=where, **options)
    assert reply.ephemeral, reply.content
    return reply.content


async def test_a_blocked_term_is_refused_in_the_prompt_and_negative_prompt_and_disguised(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    bot = await start_bot()
    added = await say(world, mod, "policy", "words", "add", terms="nsfw, Gore , blood bath, ass")
    assert "Blocked 4 terms" in added and "`gore`" in added
    assert "Already blocked: `GORE`" in await say(world, mod, "policy", "words", "add", terms="GORE")
    for prompt in (
        "an NSFW fox",
        "a n.s.f.w fox",
        "a n s f w fox",
        "a ｇｏｒｅ fox",
        "a gоre fox",
        "a blood-bath",
        "a55",
    ):
        reply = await say(world, world.alice, "imagine", prompt=prompt)
        assert reply.startswith(REFUSED) and "Nothing was charged" in reply, prompt
        assert "nsfw" not in reply.lower() and "gore" not in reply.lower()  # the list is never echoed
    negative = await say(world, world.alice, "imagine", prompt="a fox", negative_prompt="no g0re please")
    assert "something in your negative prompt" in negative
    assert eggapi.count("POST", "/v1/generate") == 0
    assert await tasks_recorded(bot) == 0
    # Innocent words that contain a term go through.
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a classy fox assistant in class")
    await world.fake.wait_for_message(world.general, is_result)
    assert eggapi.count("POST", "/v1/generate") == 1
    listed = await say(world, mod, "policy", "words", "list")
    assert listed == "Blocked words and phrases (4): `nsfw`, `gore`, `blood bath`, `ass`"
    removed = await say(world, mod, "policy", "words", "remove", terms="N.S.F.W, kittens")
    assert "Unblocked 1 term: `nsfw`" in removed and "Not on the list: `kittens`" in removed
    await world.fake.slash(world.alice, world.general, "imagine", prompt="an nsfw fox")
    await world.fake.wait_for(lambda f: eggapi.count("POST", "/v1/generate") == 2 or None)
    assert_clean(world.fake)


async def test_a_term_added_after_a_job_refuses_its_reroll(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    bot = await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a red fox")
    result = await world.fake.wait_for_message(world.general, is_result)
    await say(world, mod, "policy", "words", "add", terms="fox")
    click = await world.fake.click(world.bob, result, result.button("Reroll").custom_id)
    reply = await click.wait_response()
    assert reply.ephemeral and reply.content.startswith(REFUSED)
    assert eggapi.count("POST", "/v1/generate") == 1
    assert await tasks_recorded(bot) == 1
    assert_clean(world.fake)


async def test_regular_expressions_are_checked_when_added_and_applied(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    await start_bot()
    assert "✅ Blocked prompts matching `sp[a@]+m`" in await say(
        world, mod, "policy", "regex", "add", pattern="sp[a@]+m"
    )
    invalid = await say(world, mod, "policy", "regex", "add", pattern="(ab")
    assert "not a valid regular expression (missing ) at position 3)" in invalid
    slow = await say(world, mod, "policy", "regex", "add", pattern="(a|aa)+$")
    assert "takes too long" in slow
    everything = await say(world, mod, "policy", "regex", "add", pattern="x*")
    assert "would refuse every prompt" in everything
    assert await say(world, mod, "policy", "regex", "list") == "Blocked regular expressions (1):\n- `sp[a@]+m`"
    assert (await say(world, world.alice, "imagine", prompt="SPAAAM the fox")).startswith(REFUSED)
    assert (await say(world, world.alice, "imagine", prompt="s.p.a.m fox")).startswith(REFUSED)  # folded text too
    assert eggapi.count("POST", "/v1/generate") == 0
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a spa day for a fox")
    await world.fake.wait_for_message(world.general, is_result)
    assert "Unblocked `sp[a@]+m`" in await say(world, mod, "policy", "regex", "remove", pattern="sp[a@]+m")
    assert "not on the list" in await say(world, mod, "policy", "regex", "remove", pattern="sp[a@]+m")
    assert_clean(world.fake)


async def test_channel_rules_name_the_allowed_channels(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    art = world.fake.add_channel(world.guild, "art")
    await start_bot()
    assert "every channel" in await say(world, mod, "policy", "channels", "list")
    assert f"✅ Allowed <#{art.id}>" in await say(world, mod, "policy", "channels", "allow", channel=art)
    refused = await say(world, world.alice, "imagine", prompt="a fox")
    assert refused == f"On this server, images can be made only in <#{art.id}>. Try there. Nothing was charged."
    assert eggapi.count("POST", "/v1/generate") == 0
    await world.fake.slash(world.alice, art, "imagine", prompt="a fox in art")
    await world.fake.wait_for_message(art, is_result)
    # A thread counts as its channel.
    await say(world, mod, "policy", "channels", "allow", channel=world.general)
    await say(world, mod, "policy", "channels", "remove", channel=art)
    await world.fake.slash(world.alice, world.thread, "imagine", prompt="a fox in the thread")
    await world.fake.wait_for_message(world.thread, is_result)
    assert f"only in <#{world.general.id}>" in await say(world, world.alice, "imagine", prompt="fox", where=art)
    assert "every channel" in await say(world, mod, "policy", "channels", "clear")
    await world.fake.slash(world.alice, art, "imagine", prompt="a second fox in art")
    await world.fake.wait_for(lambda f: sum(1 for m in f.messages(art) if is_result(m)) == 2 or None)
    assert_clean(world.fake)


async def test_a_blocked_member_is_told_why_until_unblocked(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    bot = await start_bot()
    blocked = await say(world, mod, "policy", "block", member=world.alice, reason="spamming the channel")
    assert f"Blocked {world.alice.mention}" in blocked
    refused = await say(world, world.alice, "imagine", prompt="a fox")
    assert "blocked you from making images on this server" in refused and "spamming the channel" in refused
    assert eggapi.count("POST", "/v1/generate") == 0 and await tasks_recorded(bot) == 0
    shown = await say(world, mod, "policy", "show")
    assert f"Blocked members (1): {world.alice.mention} (spamming the channel)" in shown
    await world.fake.slash(world.bob, world.general, "imagine", prompt="bob's fox")  # others are not affected
    await world.fake.wait_for_message(world.general, is_result)
    assert f"Unblocked {world.alice.mention}" in await say(world, mod, "policy", "unblock", member=world.alice)
    assert "is not blocked" in await say(world, mod, "policy", "unblock", member=world.alice)
    await world.fake.slash(world.alice, world.general, "imagine", prompt="alice's fox")
    await world.fake.wait_for_message(world.general, lambda m: is_result(m) and world.alice.mention in m.content)
    assert_clean(world.fake)


async def test_members_cannot_use_policy_even_when_the_picker_is_bypassed(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    assert "policy" not in world.fake.visible_commands(world.alice, world.general)
    with pytest.raises(ClientRefusal):
        await world.fake.slash(world.alice, world.general, "policy", "words", "add", terms="fox")
    for path, options in (
        (("words", "add"), {"terms": "fox"}),
        (("block",), {"member": world.bob}),
        (("channels", "clear"), {}),
        (("show",), {}),
    ):
        handle = await world.fake.slash(world.alice, world.general, "policy", *path, validate=False, **options)
        reply = await handle.wait_response()
        assert reply.ephemeral and "Manage Server" in reply.content, path
    # Nothing changed: bob and the fox are still fine.
    await world.fake.slash(world.bob, world.general, "imagine", prompt="a fox")
    await world.fake.wait_for_message(world.general, is_result)
    assert_clean(world.fake)
