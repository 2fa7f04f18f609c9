"""The mod-log end to end, as moderators see it in their channel."""

from __future__ import annotations

import re
from typing import Any

from testkit.fake_discord import FakeChannel, FakeMember, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter
from testkit.world import World, answer


def is_result(message: FakeMessage) -> bool:
    return bool(message.attachments)


async def say(world: World, user: FakeMember, *path: str, **options: Any) -> str:
    reply = await answer(world, user, *path, **options)
    assert reply.ephemeral, reply.content
    return reply.content


async def test_jobs_refusals_and_changes_appear_in_the_mod_log(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember, mods: FakeChannel
) -> None:
    await start_bot()
    assert f"goes to <#{mods.id}>" in await say(world, mod, "policy", "modlog", channel=mods)
    first = await world.fake.wait_for_message(mods, lambda m: "changed the mod-log channel" in m.content)
    assert first.content == f"⚙️ <@{mod.id}> changed the mod-log channel: off → <#{mods.id}>"
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a red fox", aspect_ratio="16:9", count=2)
    result = await world.fake.wait_for_message(world.general, is_result)
    job = await world.fake.wait_for_message(mods, lambda m: "a red fox" in m.content)
    [line] = [line for line in job.content.splitlines() if "a red fox" in line]
    link = f"https://discord.com/channels/{world.guild.id}/{world.general.id}/{result.id}"
    assert re.fullmatch(rf'🖼️ <@{world.alice.id}> job #\d+: "a red fox" · 16:9, 2 images · \$\d+\.\d+ · {link}', line)
    # A moderator's change, then a refusal it causes.
    await say(world, mod, "policy", "words", "add", terms="gore")
    words = await world.fake.wait_for_message(mods, lambda m: "changed the blocked words" in m.content)
    assert f"⚙️ <@{mod.id}> changed the blocked words: none → `gore`" in words.content
    await say(world, world.bob, "imagine", prompt="a gore fox")
    refused = await world.fake.wait_for_message(mods, lambda m: "refused" in m.content)
    assert f'⛔ <@{world.bob.id}> refused for the blocked term `gore` in the prompt: "a gore fox"' in refused.content
    await say(world, mod, "quota", "limit", amount="2")
    quota = await world.fake.wait_for_message(mods, lambda m: "changed the quota" in m.content)
    assert re.search(
        rf"⚙️ <@{mod.id}> changed the quota: Default limit: \$[\d.]+ per member, .* → Default limit: \$2\.00 per member",
        quota.content,
    )
    assert_clean(world.fake)


async def test_many_jobs_make_few_posts_within_the_rate_limit(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember, mods: FakeChannel
) -> None:
    world.fake.enable_rate_limit(limit=5, per=5.0)
    await start_bot(EGGBOT_MAX_RUNNING_TOTAL="50")
    await say(world, mod, "policy", "modlog", channel=mods)
    people = [world.fake.add_member(world.guild, f"artist{i}") for i in range(12)]
    await world.fake.settle()
    for person in people:
        await (await world.fake.slash(person, world.general, "imagine", prompt=f"fox by {person.username}")).wait_ack()

    def logged(fake: object) -> int | None:
        text = "\n".join(m.content for m in world.fake.messages(mods))
        return text.count("🖼️") if text.count("🖼️") == len(people) else None

    await world.fake.wait_for(logged, timeout=30)
    posts = world.fake.messages(mods)
    assert len(posts) <= 6  # one line per job, several jobs per post
    assert not any(r.status == 429 for r in world.fake.requests)
    assert_clean(world.fake)


async def test_a_closed_mod_log_never_blocks_jobs_and_is_reported_once(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember, mods: FakeChannel
) -> None:
    bot = await start_bot()
    world.fake.deny_bot(mods, "SEND_MESSAGES")
    await world.fake.settle()
    await say(world, mod, "policy", "modlog", channel=mods)
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a fox in the dark")
    await world.fake.wait_for_message(world.general, is_result)
    refused = f"/channels/{mods.id}/messages"
    await world.fake.wait_for(lambda f: any(r.status == 403 and r.path == refused for r in f.requests) or None)
    await bot.modlog.flush(5)  # the worker has noted the outage
    assert bot.modlog.outage(world.guild.id) is not None
    told = await say(world, mod, "quota", "show")
    assert f"The mod-log is not being posted: in <#{mods.id}>, I lack permission there" in told
    assert "mod-log" not in await say(world, mod, "policy", "show")  # once
    assert world.fake.messages(mods) == []
    assert_clean(world.fake)


async def test_top_ups_resets_and_caption_changes_appear_in_the_mod_log(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember, mods: FakeChannel
) -> None:
    await start_bot(EGGBOT_QUOTA_LIMIT="0.01")
    await say(world, mod, "policy", "modlog", channel=mods)
    await say(world, mod, "quota", "topup", member=world.alice, amount="0.50")
    topup = await world.fake.wait_for_message(mods, lambda m: "top-up" in m.content)
    assert f"⚙️ <@{mod.id}> changed <@{world.alice.id}>'s top-up: remaining $0.01 → remaining $0.51" in topup.content
    await say(world, mod, "quota", "captions", costs="hide")
    captions = await world.fake.wait_for_message(mods, lambda m: "result captions" in m.content)
    assert f"⚙️ <@{mod.id}> changed the result captions: costs shown → costs hidden" in captions.content
    await say(world, mod, "quota", "reset", member=world.bob)  # nothing spent: nothing changed, nothing logged
    await say(world, mod, "quota", "captions", costs="show")
    await world.fake.wait_for_message(mods, lambda m: "costs hidden → costs shown" in m.content)
    assert "spend this period" not in "\n".join(m.content for m in world.fake.messages(mods))
    assert_clean(world.fake)
