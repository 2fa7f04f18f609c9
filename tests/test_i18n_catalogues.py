"""Every shipped language is complete: the same keys as English, the same placeholders, its plural forms."""

from __future__ import annotations

import re

import pytest

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, Catalogue, catalogue, language_of, placeholders, texts

OTHERS = [language for language in LANGUAGES if language != DEFAULT_LANGUAGE]


def test_at_least_two_languages_besides_english() -> None:
    assert len(OTHERS) >= 2


@pytest.mark.parametrize("language", OTHERS)
def test_every_english_text_exists_in_every_language(language: str) -> None:
    english, other = catalogue(DEFAULT_LANGUAGE), catalogue(language)
    assert sorted(set(english.entries) - set(other.entries)) == []
    assert sorted(set(other.entries) - set(english.entries)) == []


@pytest.mark.parametrize("language", OTHERS)
def test_placeholders_match_english(language: str) -> None:
    english, other = catalogue(DEFAULT_LANGUAGE), catalogue(language)
    wrong = {
        key: (sorted(placeholders(entry)), sorted(placeholders(other.entries[key])))
        for key, entry in english.entries.items()
        if key in other.entries and placeholders(entry) != placeholders(other.entries[key])
    }
    assert wrong == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_entries_have_the_forms_their_language_needs(language: str) -> None:
    book = catalogue(language)
    for key, entry in book.entries.items():
        if isinstance(entry, dict):
            assert {"one", "other"} <= set(entry), key
            # Picked by {count}, which a form need not show ("your image" / "your images"); plural where English is.
            english = catalogue(DEFAULT_LANGUAGE).entries[key]
            assert isinstance(english, dict), f"{key} is a plural table here but not in English"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_formats_with_its_placeholders(language: str) -> None:
    book = catalogue(language)
    for key, entry in book.entries.items():
        params: dict[str, object] = {name: 2 if name == "count" else f"<{name}>" for name in placeholders(entry)}
        for count in (0, 1, 2, 5):
            if "count" in params or isinstance(entry, dict):
                params["count"] = count
            assert texts(language)(key, **params), key


def test_discord_locales_map_to_shipped_languages() -> None:
    assert language_of("de") == "de"
    assert language_of("fr") == "fr"
    assert language_of("en-GB") == "en"
    assert language_of("es-419") == "en"
    assert language_of(None) == "en"


def test_plural_rules_differ_by_language() -> None:
    assert texts("en-US")("common.images", count=0) == "0 images"
    assert texts("fr")("common.images", count=0) == "0 image"
    assert texts("de")("common.images", count=1) == "1 Bild"
    assert texts("de")("common.images", count=3) == "3 Bilder"


def test_a_missing_translation_falls_back_to_english_not_to_the_key() -> None:
    partial = Catalogue("de", {})
    assert partial.entry("common.images") is None
    assert texts("de").has("common.images")
    with pytest.raises(KeyError):
        texts("de")("no.such.key")


def test_an_error_naming_a_text_is_answered_in_the_readers_language() -> None:
    from bot.app.replies import describe_error
    from bot.errors import InvalidRequest

    error = InvalidRequest(key="common.images", count=3)
    assert error.user_message == "3 images"  # English for the logs
    assert describe_error(error, locale="de").text == "3 Bilder"
    assert describe_error(error, locale="pt-BR").text == "3 images"


def command_names(language: str) -> dict[tuple[str, ...], str]:
    """Each command and subcommand (by its English path) as the [commands] table names it in ``language``."""
    names = {}
    for key, entry in catalogue(language).entries.items():
        parts = tuple(key.split("."))
        if parts[0] == "commands" and parts[-1] == "name" and "options" not in parts and isinstance(entry, str):
            names[parts[1:-1]] = entry
    return names


MENTION = re.compile(r"(?:^|[\s`(„«\"])/(\w[\w-]*)((?: [\w-]+)*)")


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_name_commands_as_that_language_shows_them(language: str) -> None:
    """A German text says /budget where a German member's picker lists /budget, not /balance."""
    names = command_names(language)
    localised = {tuple(names[path[: i + 1]] for i in range(len(path))): path for path in names}
    wrong = []
    for key, entry in catalogue(language).entries.items():
        for form in entry.values() if isinstance(entry, dict) else (entry,):
            for first, rest in MENTION.findall(form):
                path: tuple[str, ...] = (first,)
                words = rest.split()
                while words and (*path, words[0]) in localised:  # a group's subcommands follow it
                    path, words = (*path, words[0]), words[1:]
                group = any(len(known) > len(path) and known[: len(path)] == path for known in localised)
                if path not in localised or (group and words):  # prose may follow a command, not a group
                    wrong.append(f"{key}: /{first}{rest}")
    assert wrong == []
