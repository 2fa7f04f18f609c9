"""Languages end to end: commands synced in German and French, and each reader's texts in their language.

A member reads their replies in their Discord language, and their job's status, caption, buttons and
failure notice in the language they asked in; moderators read /quota, /policy, /usage and the mod-log in
the server's language. English readers see what they always did (the other end-to-end tests hold that).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bot.i18n import catalogue
from bot.lifecycle.model import TaskStatus
from testkit.fake_discord import FakeChannel, FakeMember, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan
from testkit.starter import BotStarter
from testkit.world import World, answer

SHIPPED = {"de", "fr"}
MODERATION = "Content moderation: prompt contains prohibited content"


def speaks(member: FakeMember, locale: str) -> FakeMember:
    """Set the member's Discord language (sent with each of their interactions)."""
    member.user.locale = locale
    return member


def is_result(message: FakeMessage) -> bool:
    return bool(message.attachments) and not message.ephemeral


async def result_of(world: World, prompt: str) -> FakeMessage:
    return await world.fake.wait_for_message(world.general, lambda m: is_result(m) and prompt in m.content)


def strings(command: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every command, subcommand and option of a synced command, by its catalogue path, and its choices."""
    here = f"{path}.{command['name']}" if path else command["name"]
    yield here, command
    for option in command.get("options") or []:
        if option["type"] in (1, 2):
            yield from strings(option, here)
        else:
            yield f"{here}.options.{option['name']}", option
            for choice in option.get("choices") or []:
                yield f"{here}.options.{option['name']}.choice", choice


async def test_synced_commands_carry_german_and_french(world: World, start_bot: BotStarter) -> None:
    await start_bot()
    synced = world.fake.commands_for(None)
    assert {command["name"] for command in synced} >= {"imagine", "balance", "quota", "usage", "policy", "mydata"}
    english = catalogue("en")
    checked = 0
    for command in synced:
        for path, entry in strings(command):
            checked += 1
            if path.endswith(".choice"):
                assert set(entry["name_localizations"]) == SHIPPED, path
                continue
            assert set(entry["name_localizations"]) == SHIPPED, path
            assert set(entry["description_localizations"]) == SHIPPED, path
            # English is the code's own text: the English catalogue names it the same way.
            assert english.entry(f"commands.{path}.name") == entry["name"], path
            assert english.entry(f"commands.{path}.description") == entry["description"], path
    assert checked > 80
    imagine = next(command for command in synced if command["name"] == "imagine")
    assert imagine["name_localizations"] == {"de": "bild", "fr": "imaginer"}
    prompt = imagine["options"][0]
    assert prompt["description_localizations"] == {"de": "Was gezeichnet werden soll", "fr": "Ce qu'il faut dessiner"}
    usage = next(command for command in synced if command["name"] == "usage")
    [period] = [option for option in usage["options"] if option["name"] == "period"]
    this_month = next(choice for choice in period["choices"] if choice["value"] == "month")
    assert this_month["name_localizations"] == {"de": "Dieser Monat", "fr": "Ce mois-ci"}
    assert_clean(world.fake)


async def test_each_member_reads_their_job_and_refusals_in_their_language(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    alice, bob = speaks(world.alice, "de"), world.bob  # bob's Discord is en-US
    claire = speaks(fake.add_member(world.guild, "claire"), "fr")
    bot = await start_bot(EGGBOT_QUOTA_LIMIT="0.01")

    status = await answer(world, alice, "imagine", prompt="ein roter Fuchs")
    assert re.match(
        r"(⏳ \*\*In der Warteschlange\*\*|⏳ \*\*Wartet|🎨 \*\*Wird erstellt).* · Auftrag #1 · ", status.content
    )
    assert "`1 Bild · 16:9`" in status.content
    german = await result_of(world, "ein roter Fuchs")
    assert "`1 Bild · 16:9 · $0.01` · Auftrag #1" in german.content
    assert [button.label for button in german.buttons] == [
        *("Variieren", "Bearbeiten", "Nochmal in 2k", "Nochmal in 4k"),
        *("Neu würfeln", "Remixen", "Details", "Löschen"),
    ]

    # Reroll runs for the one who clicks, in their language.
    rerolled = await (await fake.click(claire, german, german.button("Neu würfeln").custom_id)).wait_response()
    assert "**En file d'attente**" in rerolled.content or "**En attente" in rerolled.content
    assert "tâche n° 2" in rerolled.content
    origin = (
        f"🔁 Relance de la tâche n° 1 : https://discord.com/channels/{world.guild.id}/{world.general.id}/{german.id}"
    )
    assert rerolled.content.endswith(origin)
    french = await fake.wait_for_message(world.general, lambda m: is_result(m) and "tâche n° 2" in m.content)
    assert "`1 image · 16:9 · $0.01` · tâche n° 2" in french.content and origin in french.content
    assert [button.label for button in french.buttons] == [
        *("Varier", "Modifier", "Refaire en 2k", "Refaire en 4k"),
        *("Relancer", "Remixer", "Détails", "Supprimer"),
    ]

    english = await answer(world, bob, "imagine", prompt="a blue fox")
    assert "job #3" in english.content and "Auftrag" not in english.content
    assert [b.label for b in (await result_of(world, "a blue fox")).buttons] == [
        *("Vary", "Edit", "Again at 2k", "Again at 4k"),
        *("Reroll", "Remix", "Details", "Delete"),
    ]

    # Refusals: over budget, and an option that cannot be used.
    over = await answer(world, alice, "imagine", prompt="noch ein Fuchs")
    assert over.ephemeral and over.content.startswith(
        "Du hast dein gesamtes Tagesbudget für Bilder ($0.01) aufgebraucht. Es wird <t:"
    )
    assert over.content.endswith(":R> zurückgesetzt. /budget zeigt die Einzelheiten.")
    over = await answer(world, claire, "imagine", prompt="encore un renard")
    assert over.content.startswith(
        "Vous avez utilisé tout votre budget d'images quotidien ($0.01). Il sera réinitialisé <t:"
    )
    notes = {"reference": ("notes.txt", b"not a picture", "text/plain")}
    wrong = await answer(world, alice, "imagine", prompt="dieser Fuchs", attachments=notes)
    assert wrong.content == "`notes.txt` ist kein Bild, das ich verwenden kann; häng ein PNG, JPEG, WebP oder GIF an."
    assert (await answer(world, claire, "balance")).content.startswith("**Votre budget d'images quotidien**")

    tasks = [await bot.task_store.get(task_id) for task_id in (1, 2, 3)]
    assert [task.locale if task else None for task in tasks] == ["de", "fr", "en-US"]
    assert len(eggapi.tasks) == 3  # the refusals reached nothing
    assert_clean(fake)


async def test_a_failure_notice_is_in_the_language_of_the_member_who_asked(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.plan_next(TaskPlan(outcome="failed", error=MODERATION, polls_until_done=1))
    bot = await start_bot()
    status = await answer(world, speaks(world.alice, "fr"), "imagine", prompt="quelque chose d'interdit")
    failed = await world.fake.wait_for(
        lambda f: f.message(status.id) if "Échec" in f.message(status.id).content else None
    )
    assert failed.content.startswith("❌ **Échec**\n")
    assert (
        f"{world.alice.mention} votre image pour **quelque chose d'interdit** (tâche n° 1) n'a pas été créée. "
        "Le filtre de contenu du service d'images a refusé ce prompt. Essayez de le reformuler. "
        "Rien n'a été facturé."
    ) in failed.content
    assert MODERATION not in failed.content
    task = await bot.task_store.get(1)
    assert task is not None and task.status is TaskStatus.FAILED
    assert_clean(world.fake)


async def test_moderators_read_the_server_language_and_members_their_own(
    world: World, start_bot: BotStarter, mod: FakeMember, mods: FakeChannel
) -> None:
    world.guild.locale = "de"  # the server's language, as Discord tells the bot at connection and per interaction
    await start_bot()
    speaks(world.alice, "fr")
    assert (
        await answer(world, mod, "policy", "modlog", channel=mods)
    ).content == f"✅ Das Mod-Log geht nach <#{mods.id}>."
    shown = (await answer(world, mod, "quota", "limit", amount="2")).content
    assert shown.startswith("✅ Standardlimit aktualisiert.\n\n**Kontingent-Einstellungen**\n")
    assert "Standardlimit: $2.00 pro Mitglied, täglich (UTC)" in shown
    line = await world.fake.wait_for_message(mods, lambda m: "hat das Kontingent geändert" in m.content)
    assert f"⚙️ {mod.mention} hat das Kontingent geändert: Standardlimit:" in line.content
    await answer(world, mod, "policy", "words", "add", terms="gore")
    refused = await answer(world, world.alice, "imagine", prompt="a gore fox")
    assert refused.content.startswith("Les règles de ce serveur n'autorisent pas quelque chose dans votre prompt")
    logged = await world.fake.wait_for_message(mods, lambda m: "abgelehnt durch" in m.content)
    assert f"⛔ {world.alice.mention} abgelehnt durch den gesperrten Begriff `gore` im Prompt: „a gore fox“" in (
        logged.content
    )
    denied = await answer(world, world.bob, "quota", "show", validate=False)  # bob lacks Manage Server
    assert denied.content == "Dafür brauchst du die Berechtigung Server verwalten."
    assert_clean(world.fake)
