"""/help end to end, for a member and a moderator, and the budget in images in /help and /balance."""

from __future__ import annotations

import re

from testkit.fake_discord import FakeChannel, FakeMember, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter
from testkit.world import World
from tests.test_e2e_mydata import ask, text_of

RELATIVE = re.compile(r"<t:\d+:R>")


def commands_in(message: FakeMessage) -> list[str]:
    return re.findall(r"^`/([a-z]+)`", text_of(message), re.M)


async def spend(world: World, user: FakeMember, prompt: str, count: int) -> None:
    await world.fake.slash(user, world.general, "imagine", prompt=prompt, count=count)
    await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments) and prompt in m.content)


async def test_help_for_a_member_names_their_budget_in_images_and_their_commands(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot(EGGBOT_QUOTA_LIMIT="0.05")
    await spend(world, world.alice, "two foxes", 2)

    shown = await ask(world, world.alice, "help")
    text = text_of(shown)
    assert shown.embeds[0]["title"] == "eggbot on Egg Lovers"
    assert "**Your budget:** about 3 images left today; it resets <t:" in text and RELATIVE.search(text)
    assert commands_in(shown) == ["balance", "help", "history", "imagine", "mydata", "settings", "show"]
    assert "`/history`: your recent jobs" in text
    assert "For moderators" not in text and "First steps" not in text and "/quota" not in text

    balance = await ask(world, world.alice, "balance")
    assert "remaining: **$0.03**" in balance.content
    assert "In images: about 3 images left today, at $0.01 an image." in balance.content

    await spend(world, world.alice, "three foxes", 3)
    empty = await ask(world, world.alice, "help")
    assert "**Your budget:** no images left today" in text_of(empty)
    assert_clean(world.fake)


async def test_help_for_a_moderator_adds_their_commands_and_the_first_steps(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember, mods: FakeChannel
) -> None:
    await start_bot(EGGBOT_QUOTA_LIMIT="1.00")
    first = text_of(await ask(world, mod, "help"))
    assert "**For moderators**" in first and "**First steps**" in first
    assert "1. Budget: each member may spend $1.00 per day now." in first
    assert "2. Rules: 0 blocked words and patterns for prompts; /imagine runs in every channel." in first
    assert "3. Mod-log: off." in first
    assert "`/quota`: spending limits" in first and "`/usage`:" in first and "`/policy`:" in first
    assert "`/history member:`" in first
    assert "about 100 images left today" in first

    await ask(world, mod, "quota", "limit", amount="0.50", period="week")
    await ask(world, mod, "policy", "words", "add", terms="gore, blood")
    await ask(world, mod, "policy", "channels", "allow", channel=world.general)
    await ask(world, mod, "policy", "modlog", channel=mods)
    later = text_of(await ask(world, mod, "help"))
    assert "1. Budget: each member may spend $0.50 per week now." in later
    assert "2. Rules: 2 blocked words and patterns for prompts; /imagine runs in 1 channel." in later
    assert f"3. Mod-log: <#{mods.id}>." in later and "about 50 images left this week" in later
    assert_clean(world.fake)


async def test_a_server_that_caps_spending_says_so_and_a_paused_one_too(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    await start_bot(EGGBOT_QUOTA_LIMIT="1.00")
    await ask(world, mod, "quota", "cap", amount="0.02")
    capped = text_of(await ask(world, world.alice, "help"))
    assert "about 2 images left today (the server's shared budget)" in capped
    await ask(world, mod, "quota", "pause")
    paused = text_of(await ask(world, world.alice, "help"))
    assert "**Your budget:** image generation is paused on this server." in paused
    assert "In images: image generation is paused on this server" in (await ask(world, world.alice, "balance")).content
    assert_clean(world.fake)


async def test_a_german_member_reads_help_and_the_budget_in_german(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot(EGGBOT_QUOTA_LIMIT="0.05")
    hilde = world.fake.add_member(world.guild, world.fake.add_user("hilde", locale="de"))
    await world.fake.settle()
    await spend(world, hilde, "ein Fuchs", 1)
    shown = await ask(world, hilde, "help")
    text = text_of(shown)
    assert shown.embeds[0]["title"] == "eggbot auf Egg Lovers"
    assert "**Dein Budget:** heute noch etwa 4 Bilder übrig; es wird <t:" in text
    assert "**Befehle, die du nutzen kannst**" in text and "`/history`: deine letzten Aufträge" in text
    balance = await ask(world, hilde, "balance")
    assert "In Bildern: heute noch etwa 4 Bilder übrig, bei $0.01 pro Bild." in balance.content
    assert_clean(world.fake)
