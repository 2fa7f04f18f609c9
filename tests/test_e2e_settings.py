"""/settings end to end: a member's defaults reach EggAPI, /imagine's options win, and result pings follow them."""

from __future__ import annotations

from typing import Any

from testkit.fake_discord import FakeMember, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter
from testkit.world import World
from tests.test_e2e_mydata import ask


def submitted(eggapi: FakeEggAPI) -> list[dict[str, Any]]:
    """The bodies of every generate request EggAPI received, in order."""
    return [r.json for r in eggapi.requests if r.method == "POST" and r.path == "/v1/generate"]


def options(body: dict[str, Any]) -> tuple[Any, ...]:
    return body["prompt"], body.get("aspect_ratio"), body.get("num_outputs"), body.get("resolution")


async def result_of(world: World, user: FakeMember, prompt: str, **given: Any) -> FakeMessage:
    """Run /imagine and wait for the posted result."""
    await world.fake.slash(user, world.general, "imagine", prompt=prompt, **given)
    return await world.fake.wait_for_message(
        world.general, lambda m: bool(m.attachments) and prompt in m.content and not m.ephemeral
    )


async def test_defaults_are_applied_and_options_override_them(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    saved = await ask(
        world,
        world.alice,
        "settings",
        "set",
        aspect_ratio="9:16",
        count=2,
        resolution="2k",
        suffix=" watercolour,  soft ",
    )
    assert saved.content.startswith("✅ Saved.")
    assert "Aspect ratio: **9:16**" in saved.content and "Images per job: **2**" in saved.content
    assert "Resolution: **2k**" in saved.content and "Added to your prompts: **watercolour, soft**" in saved.content

    await result_of(world, world.alice, "a red fox")
    await result_of(world, world.alice, "a grey cat", aspect_ratio="16:9", count=1)
    await result_of(world, world.bob, "bob's badger")
    assert [options(body) for body in submitted(eggapi)] == [
        ("a red fox, watercolour, soft", "9:16", 2, "2k"),
        ("a grey cat, watercolour, soft", "16:9", 1, "2k"),
        ("bob's badger", None, 1, None),  # bob set nothing: EggAPI's own defaults
    ]

    reset = await ask(world, world.alice, "settings", "reset", setting="suffix")
    assert "Added to your prompts: nothing" in reset.content and "Images per job: **2**" in reset.content
    everything = await ask(world, world.alice, "settings", "reset")
    assert "Aspect ratio: not set (16:9)" in everything.content and "Images per job: not set (1)" in everything.content
    await result_of(world, world.alice, "a plain owl")
    assert options(submitted(eggapi)[-1]) == ("a plain owl", None, 1, None)
    assert_clean(world.fake)


async def test_a_suffix_the_servers_rules_refuse_is_not_saved(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    await start_bot()
    await ask(world, mod, "policy", "words", "add", terms="gore")
    refused = await ask(world, world.alice, "settings", "set", suffix="extra g0re", count=3)
    assert "don't allow something in that suffix" in refused.content
    shown = await ask(world, world.alice, "settings", "show")
    assert "Images per job: not set (1)" in shown.content and "Added to your prompts: nothing" in shown.content
    hint = await ask(world, world.alice, "settings", "set")
    assert "Give at least one option" in hint.content
    assert_clean(world.fake)


async def test_result_posts_ping_the_member_unless_they_turned_it_off(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    pinged = await result_of(world, world.alice, "a loud fox")
    assert pinged.mentions == [world.alice.id] and pinged.content.startswith(world.alice.mention)

    off = await ask(world, world.alice, "settings", "set", mention=False)
    assert "Ping me when my images are posted: **no**" in off.content
    quiet = await result_of(world, world.alice, "a quiet fox")
    assert quiet.mentions == [] and quiet.content.startswith(world.alice.mention)  # named, not pinged
    bobs = await result_of(world, world.bob, "bob's loud badger")
    assert bobs.mentions == [world.bob.id]  # only alice chose silence
    assert_clean(world.fake)


async def test_a_german_member_reads_their_settings_in_german(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    handle = await world.fake.slash(world.alice, world.general, "settings", "set", count=3, locale="de")
    saved = await handle.wait_response()
    assert saved.content.startswith("✅ Gespeichert.") and "Bilder pro Auftrag: **3**" in saved.content
    assert "Seitenverhältnis: nicht festgelegt (16:9)" in saved.content
    assert_clean(world.fake)
