"""Under each result, end to end: pick an image, Vary / Edit / Again at 2k-4k it, Remix the job, its Details.

The real bot and discord.py against the fake Discord (which signs attachment links for 24 hours and
checks modals against the spec) and the fake EggAPI (which downloads ``image_urls`` when a task
starts). Every new path is a job like /imagine: the prompt policy, the clicker's quota, the queue.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.app.client import EggBot
from bot.lifecycle.model import TaskStatus
from testkit.fake_discord import FakeMember, FakeMessage, InteractionHandle, assert_clean
from testkit.fake_eggapi import FakeEggAPI, FakeTask, TaskPlan
from testkit.starter import BotStarter, any_db
from testkit.world import World, answer

pytestmark = pytest.mark.usefixtures("on_each_backend")

HOUR = 3600.0
REFUSED = "This server's rules don't allow something in your prompt"


def is_result(message: FakeMessage) -> bool:
    return bool(message.attachments) and not message.ephemeral


async def next_result(world: World, after: FakeMessage | None = None) -> FakeMessage:
    """The next result post in #general (after ``after``)."""
    return await world.fake.wait_for_message(world.general, is_result, after=after)


async def imagine(world: World, user: FakeMember, prompt: str, **options: Any) -> FakeMessage:
    """Run /imagine and wait for its result post."""
    handle = await world.fake.slash(user, world.general, "imagine", options={"prompt": prompt, **options})
    return await next_result(world, await handle.wait_response())


async def click(world: World, user: FakeMember, message: FakeMessage, label: str) -> InteractionHandle:
    return await world.fake.click(user, message, message.button(label).custom_id)


async def open_modal(world: World, user: FakeMember, message: FakeMessage, label: str) -> InteractionHandle:
    """Click a button that opens a modal; the interaction, with the modal the user now sees."""
    opened = await click(world, user, message, label)
    assert (await opened.wait_ack()).type == 9
    return opened


async def finished(world: World, status: FakeMessage) -> None:
    """Wait until a job's status message is gone: its result is posted and recorded."""
    await world.fake.wait_for(lambda f: f.message(status.id).deleted)


async def reply_to(world: World, user: FakeMember, message: FakeMessage, label: str) -> FakeMessage:
    """Click a button and return what the clicker reads in answer."""
    return await (await click(world, user, message, label)).wait_response()


def path(url: str) -> str:
    return urlsplit(url).path


def last_task(eggapi: FakeEggAPI) -> FakeTask:
    return list(eggapi.tasks.values())[-1]


async def tasks_recorded(bot: EggBot) -> int:
    row = await any_db(bot).fetchone("SELECT COUNT(*) AS n FROM tasks")
    assert row is not None
    return int(row["n"])


async def test_pick_image_2_of_4_and_vary_it_after_a_restart(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    first = await imagine(world, world.alice, "four foxes in snow", count=4, negative_prompt="blurry")
    assert [b.label for b in first.buttons] == [
        "Image 1",
        "Image 2",
        "Image 3",
        "Image 4",
        "Reroll",
        "Remix",
        "Details",
        "Delete",
    ]
    assert len(first.components) == 2  # one row for the images, one for the job
    await start_bot.stop()
    bot = await start_bot()  # nothing in memory: the custom ids say it all

    panel = await reply_to(world, world.alice, first, "Image 2")
    assert panel.ephemeral and panel.visible_to == world.alice.id
    assert panel.content.startswith("**Image 2 of 4** · job #1: four foxes in snow")
    assert "**Vary** makes 4 new images from it with the same prompt" in panel.content
    assert [b.label for b in panel.buttons] == ["Vary", "Edit", "Again at 2k", "Again at 4k"]

    status = await (await click(world, world.alice, panel, "Vary")).wait_response()
    assert not status.ephemeral and "four foxes in snow" in status.content
    link = f"https://discord.com/channels/{world.guild.id}/{world.general.id}/{first.id}"
    assert status.content.endswith(f"🎨 Variation of image 2 of job #1: {link}")
    second = await next_result(world, first)
    assert f"🎨 Variation of image 2 of job #1: {link}" in second.content

    sent = last_task(eggapi)
    assert sent.type == "image_edit" and len(sent.request["image_urls"]) == 1
    [url] = sent.request["image_urls"]
    assert path(url) == path(first.attachment("eggbot-1-2.png").url)  # exactly that image
    assert (sent.request["prompt"], sent.request["negative_prompt"], sent.request["num_outputs"]) == (
        "four foxes in snow",
        "blurry",
        4,
    )
    assert [(f.url, f.status) for f in eggapi.input_fetches] == [(url, 200)]  # still valid when fetched
    task = await bot.task_store.get(2)
    assert task is not None and (task.origin_task_id, task.origin_kind, task.origin_image) == (1, "vary", 2)
    assert task.member_id == world.alice.id
    assert_clean(world.fake)


async def test_a_link_expired_before_the_click_is_fetched_afresh(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    first = await imagine(world, world.alice, "two foxes", count=2)
    image = first.attachment("eggbot-1-2.png")
    posted = world.fake.cdn.sign(image.url, image.id)  # the link as the result post carried it
    world.fake.clock.advance(48 * HOUR)  # two days later that link is dead
    assert not world.fake.cdn.valid(image.id, {k: v[0] for k, v in parse_qs(urlsplit(posted).query).items()})

    panel = await reply_to(world, world.bob, first, "Image 2")
    await (await click(world, world.bob, panel, "Vary")).wait_ack()
    await next_result(world, first)
    [url] = last_task(eggapi).request["image_urls"]
    assert path(url) == path(image.url) and url != posted
    assert [(f.url, f.status) for f in eggapi.input_fetches] == [(url, 200)]

    # A reroll of that variation, two more days later, gets the picked image afresh again.
    variation = await next_result(world, first)
    world.fake.clock.advance(48 * HOUR)
    await (await click(world, world.bob, variation, "Reroll")).wait_ack()
    reroll = await next_result(world, variation)
    assert "🔁 Reroll of job #2" in reroll.content
    [again] = last_task(eggapi).request["image_urls"]
    assert path(again) == path(image.url) and again != url
    assert [f.status for f in eggapi.input_fetches] == [200, 200]
    assert_clean(world.fake)


async def test_a_variation_that_waited_in_line_for_a_day_is_sent_with_a_fresh_link(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    bot = await start_bot(EGGBOT_MAX_RUNNING_PER_MEMBER="1")
    first = await imagine(world, world.alice, "two foxes", count=2)
    eggapi.plan_next(TaskPlan(hold=True))
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a slow fox")
    slow = await world.fake.wait_for(lambda f: list(eggapi.tasks)[1:] or None)
    panel = await reply_to(world, world.alice, first, "Image 2")
    status = await (await click(world, world.alice, panel, "Vary")).wait_response()
    await world.fake.wait_for(lambda f: "in line" in f.message(status.id).content or None)  # behind the slow one
    waiting = await bot.task_store.get(3)
    assert waiting is not None and waiting.status is TaskStatus.QUEUED
    [clicked] = waiting.reference_urls

    world.fake.clock.advance(23.5 * HOUR)  # the link from the click still works, but not for long enough
    eggapi.finish(slow[0])
    variation = await world.fake.wait_for_message(world.general, lambda m: is_result(m) and "Variation" in m.content)
    assert "🎨 Variation of image 2 of job #1" in variation.content
    [sent] = last_task(eggapi).request["image_urls"]
    assert path(sent) == path(first.attachment("eggbot-1-2.png").url) and sent != clicked
    assert [(f.url, f.status) for f in eggapi.input_fetches] == [(sent, 200)]
    assert_clean(world.fake)


async def test_a_deleted_result_is_refused_before_anything_is_charged(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    bot = await start_bot()
    first = await imagine(world, world.alice, "fleeting foxes", count=4)
    panel = await reply_to(world, world.bob, first, "Image 3")
    await (await click(world, world.alice, first, "Delete")).wait_ack()
    await world.fake.wait_for(lambda f: f.message(first.id).deleted)

    refusal = await (await click(world, world.bob, panel, "Vary")).wait_response()
    assert refusal.ephemeral and refusal.visible_to == world.bob.id
    assert refusal.content == (
        "The result of job #1 is no longer in the channel, so I can't use its image 3. Nothing was charged."
    )
    assert eggapi.count("POST", "/v1/generate") == 1 and await tasks_recorded(bot) == 1
    balance = await bot.ledger.balance(world.guild.id, world.bob.id, [])
    assert balance.settled == Decimal("0") and balance.reserved == Decimal("0")
    assert_clean(world.fake)


async def test_edit_a_single_image_with_a_new_prompt_submitted_after_a_restart(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    first = await imagine(world, world.alice, "a red fox in snow")
    # One image: what can be made of it is on the result itself.
    assert [b.label for b in first.buttons] == [
        "Vary",
        "Edit",
        "Again at 2k",
        "Again at 4k",
        "Reroll",
        "Remix",
        "Details",
        "Delete",
    ]
    opened = await open_modal(world, world.alice, first, "Edit")
    assert opened.modal is not None and opened.modal["title"] == "Edit image 1 of job #1"
    prompt = opened.modal_fields["prompt"]
    assert (prompt["label"], prompt["value"], prompt["max_length"]) == ("Prompt", "a red fox in snow", 2000)
    await start_bot.stop()
    bot = await start_bot()  # the modal is answered by its custom id alone

    submitted = await world.fake.submit_modal(world.alice, opened, {"prompt": "the same fox, now in blue"})
    status = await submitted.wait_response()
    assert "the same fox, now in blue" in status.content and "✏️ Edit of image 1 of job #1" in status.content
    second = await next_result(world, first)
    assert "✏️ Edit of image 1 of job #1" in second.content
    sent = last_task(eggapi)
    assert sent.request["prompt"] == "the same fox, now in blue"
    assert [path(u) for u in sent.request["image_urls"]] == [path(first.attachment("eggbot-1-1.png").url)]
    task = await bot.task_store.get(2)
    assert task is not None and (task.origin_kind, task.origin_image, task.member_id) == ("edit", 1, world.alice.id)
    assert_clean(world.fake)


async def test_remix_runs_the_whole_job_with_the_changed_prompts(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    first = await imagine(world, world.alice, "a fox", count=2, aspect_ratio="9:16", negative_prompt="blurry")
    opened = await open_modal(world, world.bob, first, "Remix")
    assert opened.modal is not None and opened.modal["title"] == "Remix job #1"
    fields = opened.modal_fields
    assert (fields["prompt"]["value"], fields["negative"]["value"]) == ("a fox", "blurry")
    assert fields["negative"]["label"] == "What to keep out of the image" and fields["negative"]["required"] is False

    submitted = await world.fake.submit_modal(
        world.bob, opened, {"prompt": "a fox in a top hat", "negative": "hats on other animals"}
    )
    await submitted.wait_response()
    second = await next_result(world, first)
    assert world.bob.mention in second.content and "🎛️ Remix of job #1" in second.content
    sent = last_task(eggapi).request
    assert (sent["prompt"], sent["negative_prompt"], sent["num_outputs"], sent["aspect_ratio"]) == (
        "a fox in a top hat",
        "hats on other animals",
        2,
        "9:16",
    )
    assert "image_urls" not in sent and len(second.attachments) == 2
    assert_clean(world.fake)


async def test_again_at_2k_after_a_restart_offers_only_what_is_larger(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    first = await imagine(world, world.alice, "two small foxes", count=2, resolution="1k")
    await start_bot.stop()
    await start_bot()
    panel = await reply_to(world, world.alice, first, "Image 2")
    status = await (await click(world, world.alice, panel, "Again at 2k")).wait_response()
    assert "🔍 Image 2 of job #1 again at 2k" in status.content
    second = await next_result(world, first)
    sent = last_task(eggapi).request
    assert (sent["resolution"], sent["num_outputs"]) == ("2k", 1)
    assert [path(u) for u in sent["image_urls"]] == [path(first.attachment("eggbot-1-2.png").url)]
    assert len(second.attachments) == 1 and "`1 image · 16:9 · 2k · edit of 1 image · $0.01`" in second.content
    # At 2k, only 4k is larger.
    assert [b.label for b in second.buttons][:3] == ["Vary", "Edit", "Again at 4k"]
    assert_clean(world.fake)


async def test_details_say_how_a_job_was_made_and_where_it_came_from(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    first = await imagine(world, world.alice, "a fox *with* <@everyone>", count=2, negative_prompt="rain")
    panel = await reply_to(world, world.bob, first, "Image 1")
    status = await (await click(world, world.bob, panel, "Vary")).wait_response()
    second = await next_result(world, first)
    await finished(world, status)

    details = await reply_to(world, world.bob, second, "Details")
    assert details.ephemeral and details.visible_to == world.bob.id
    lines = details.content.split("\n")
    assert lines[0].startswith(f"**Job #2**, asked by <@{world.bob.id}> <t:")
    assert lines[1] == "**Prompt:** a fox \\*with\\* <@\u200beveryone>"  # inert: no markdown, no ping
    assert lines[2:5] == ["**Without:** rain", "**Options:** `2 images · 16:9 · edit of 1 image`", "**Cost:** $0.02"]
    assert lines[5].startswith("**Took:** 0:0")
    assert lines[6] == f"**Result:** https://discord.com/channels/{world.guild.id}/{world.general.id}/{second.id}"
    origin = f"https://discord.com/channels/{world.guild.id}/{world.general.id}/{first.id}"
    assert lines[7] == f"**Made from:** 🎨 Variation of image 1 of job #1: {origin}"
    assert details.mentions == [] and not details.mention_everyone
    assert_clean(world.fake)


async def test_the_cost_in_details_follows_the_servers_caption_setting(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    await start_bot()
    first = await imagine(world, world.alice, "a priced fox")
    assert (await answer(world, mod, "quota", "captions", costs="hide")).ephemeral
    assert "**Cost:** $0.01" not in (await reply_to(world, world.bob, first, "Details")).content
    assert "**Cost:** $0.01" in (await reply_to(world, world.alice, first, "Details")).content  # their own
    assert_clean(world.fake)


async def test_every_path_is_charged_and_refused_like_imagine(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    bot = await start_bot(EGGBOT_QUOTA_LIMIT="0.05")
    first = await imagine(world, world.alice, "four foxes", count=4)
    imagine_refusal = await answer(world, world.alice, "imagine", prompt="four more foxes", count=4)
    panel = await reply_to(world, world.alice, first, "Image 2")
    refusals = [await reply_to(world, world.alice, panel, "Vary")]
    remix = await open_modal(world, world.alice, first, "Remix")
    refusals.append(await (await world.fake.submit_modal(world.alice, remix, {})).wait_response())
    reroll = await reply_to(world, world.alice, first, "Reroll")
    assert imagine_refusal.content.startswith("This request needs $0.04, but you have only $0.01 left")
    for refusal in (*refusals, reroll):
        assert refusal.ephemeral and refusal.content == imagine_refusal.content
    assert eggapi.count("POST", "/v1/generate") == 1 and await tasks_recorded(bot) == 1

    # Bob builds on Alice's result from his own budget.
    bob_panel = await reply_to(world, world.bob, first, "Image 2")
    await (await click(world, world.bob, bob_panel, "Vary")).wait_ack()
    variation = await next_result(world, first)
    assert world.bob.mention in variation.content
    alice = await bot.ledger.balance(world.guild.id, world.alice.id, [])
    bob = await bot.ledger.balance(world.guild.id, world.bob.id, [])
    assert (alice.settled, bob.settled) == (Decimal("0.04"), Decimal("0.04"))
    assert_clean(world.fake)


async def test_the_servers_prompt_policy_refuses_an_edit_prompt(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    bot = await start_bot()
    first = await imagine(world, world.alice, "a red fox")
    assert "Blocked 1 term" in (await answer(world, mod, "policy", "words", "add", terms="wolf")).content
    opened = await open_modal(world, world.alice, first, "Edit")
    refusal = await (await world.fake.submit_modal(world.alice, opened, {"prompt": "a grey w0lf"})).wait_response()
    assert refusal.ephemeral and refusal.content.startswith(REFUSED) and "Nothing was charged" in refusal.content
    remix = await open_modal(world, world.alice, first, "Remix")
    refused = await (await world.fake.submit_modal(world.alice, remix, {"negative": "any wolf"})).wait_response()
    assert refused.content.startswith("This server's rules don't allow something in your negative prompt")
    assert eggapi.count("POST", "/v1/generate") == 1 and await tasks_recorded(bot) == 1
    assert_clean(world.fake)


async def test_a_german_member_reads_the_new_texts_in_german(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    greta = world.fake.add_member(world.guild, world.fake.add_user("greta", locale="de"))
    await start_bot()
    first = await imagine(world, greta, "zwei Füchse", count=2)
    assert [b.label for b in first.buttons] == ["Bild 1", "Bild 2", "Neu würfeln", "Remixen", "Details", "Löschen"]

    panel = await reply_to(world, greta, first, "Bild 2")
    assert panel.content.startswith("**Bild 2 von 2** · Auftrag #1: zwei Füchse")
    assert "**Variieren** macht daraus 2 neue Bilder" in panel.content
    assert [b.label for b in panel.buttons] == ["Variieren", "Bearbeiten", "Nochmal in 2k", "Nochmal in 4k"]
    status = await (await click(world, greta, panel, "Variieren")).wait_response()
    assert "🎨 Variation von Bild 2 aus Auftrag #1: https://discord.com/channels/" in status.content
    second = await next_result(world, first)
    assert "🎨 Variation von Bild 2 aus Auftrag #1" in second.content

    opened = await open_modal(world, greta, second, "Remixen")
    assert opened.modal is not None and opened.modal["title"] == "Auftrag #2 remixen"
    assert opened.modal_fields["prompt"]["label"] == "Beschreibung (Prompt)"
    details = await reply_to(world, greta, second, "Details")
    assert details.content.startswith(f"**Auftrag #2**, erteilt von <@{greta.id}>")
    assert "**Entstanden aus:** 🎨 Variation von Bild 2 aus Auftrag #1" in details.content

    # Reroll is hers too: its origin line, in the status and the caption, in her language.
    again = await (await click(world, greta, first, "Neu würfeln")).wait_response()
    assert "🔁 Neu gewürfelt aus Auftrag #1: https://discord.com/channels/" in again.content
    third = await next_result(world, second)
    assert "🔁 Neu gewürfelt aus Auftrag #1: https://discord.com/channels/" in third.content

    await (await click(world, greta, first, "Löschen")).wait_ack()
    await world.fake.wait_for(lambda f: f.message(first.id).deleted)
    gone = (
        "Das Ergebnis von Auftrag #1 ist nicht mehr im Kanal, deshalb kann ich sein Bild 2 nicht verwenden. "
        "Es wurde nichts berechnet."
    )
    assert (await (await click(world, greta, panel, "Variieren")).wait_response()).content == gone
    # A reroll of the variation needs that image again: refused, in the clicker's language.
    assert (await reply_to(world, greta, second, "Neu würfeln")).content == gone
    camille = world.fake.add_member(world.guild, world.fake.add_user("camille", locale="fr"))
    assert (await reply_to(world, camille, second, "Neu würfeln")).content == (
        "Le résultat de la tâche n° 1 n'est plus dans le salon, je ne peux donc pas utiliser son image 2. "
        "Rien n'a été facturé."
    )
    # Someone else reading Greta's job gets their own language; the post stays in hers.
    assert (await reply_to(world, world.bob, second, "Details")).content.startswith("**Job #2**, asked by")
    assert_clean(world.fake)


async def test_a_reroll_links_back_to_its_origin(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    bot = await start_bot()
    first = await imagine(world, world.alice, "reroll me")
    status = await (await click(world, world.bob, first, "Reroll")).wait_response()
    link = f"https://discord.com/channels/{world.guild.id}/{world.general.id}/{first.id}"
    assert status.content.endswith(f"🔁 Reroll of job #1: {link}")
    second = await next_result(world, first)
    assert f"🔁 Reroll of job #1: {link}" in second.content
    task = await bot.task_store.get(2)
    assert task is not None and (task.origin_task_id, task.origin_kind, task.origin_image) == (1, "reroll", None)
    assert_clean(world.fake)


async def test_a_cancelled_remake_keeps_its_origin_line(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot(EGGBOT_MAX_RUNNING_TOTAL="1")
    first = await imagine(world, world.alice, "a fox to reroll")
    eggapi.default_plan = TaskPlan(hold=True)  # the next job keeps the only running slot
    await (await click(world, world.bob, first, "Reroll")).wait_response()
    waiting = await (await click(world, world.bob, first, "Reroll")).wait_response()
    link = f"https://discord.com/channels/{world.guild.id}/{world.general.id}/{first.id}"
    assert waiting.content.endswith(f"🔁 Reroll of job #1: {link}")
    await (await world.fake.click(world.bob, waiting, waiting.button("Cancel").custom_id)).wait_ack()
    cancelled = await world.fake.wait_for(
        lambda f: f.message(waiting.id) if "Cancelled" in f.message(waiting.id).content else None
    )
    assert cancelled.content.endswith(f"🔁 Reroll of job #1: {link}") and cancelled.buttons == []
    assert_clean(world.fake)
