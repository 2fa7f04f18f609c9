"""Loading the catalogues and looking texts up in them (see the package docstring)."""

from __future__ import annotations

import logging
import string
import tomllib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC
from functools import cache
from importlib import resources
from typing import Any

from bot.i18n._params import Channels, Markup, Moment, Number, Text

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "en"
# The languages we ship, by their catalogue's file name. Discord's locale codes map onto these.
LANGUAGES: tuple[str, ...] = ("en", "de", "fr")

PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})


def _one_is_one(count: int) -> str:
    return "one" if count == 1 else "other"


def _one_is_zero_or_one(count: int) -> str:
    return "one" if count in (0, 1) else "other"


# CLDR's cardinal rules for whole numbers, for the languages we ship (and the common fallback).
_PLURAL_RULES: dict[str, Callable[[int], str]] = {
    "en": _one_is_one,
    "de": _one_is_one,
    "fr": _one_is_zero_or_one,
}


def language_of(locale: str | None) -> str:
    """The shipped language for a Discord locale: ``de`` → ``de``, ``fr`` → ``fr``, ``es-419`` → ``en``."""
    if not locale:
        return DEFAULT_LANGUAGE
    code = locale.replace("_", "-").lower()
    if code in LANGUAGES:
        return code
    primary = code.split("-", 1)[0]
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


Entry = str | dict[str, str]


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Entry]]:
    """``{"status": {"queued": "…"}}`` → ``("status.queued", "…")``; a table of plural forms stays whole."""
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, str):
            yield key, value
        elif isinstance(value, dict) and value and set(value) <= PLURAL_FORMS and "other" in value:
            if not all(isinstance(form, str) for form in value.values()):
                raise ValueError(f"catalogue entry {key!r}: plural forms must be strings")
            yield key, dict(value)
        elif isinstance(value, dict):
            yield from _flatten(value, f"{key}.")
        else:
            raise ValueError(f"catalogue entry {key!r} is a {type(value).__name__}, not a text")


def placeholders(entry: Entry) -> frozenset[str]:
    """The ``{names}`` an entry uses (all plural forms together)."""
    forms = entry.values() if isinstance(entry, dict) else (entry,)
    names: set[str] = set()
    for form in forms:
        names.update(field for _, field, _, _ in string.Formatter().parse(form) if field)
    return frozenset(names)


class Catalogue:
    """One language's texts, keyed by dotted name."""

    def __init__(self, language: str, entries: Mapping[str, Entry]) -> None:
        self.language = language
        self.entries = dict(entries)
        self._plural = _PLURAL_RULES.get(language, _one_is_one)

    @classmethod
    def load(cls, language: str) -> Catalogue:
        source = resources.files("bot.i18n").joinpath("catalogues", f"{language}.toml").read_text("utf-8")
        return cls(language, dict(_flatten(tomllib.loads(source))))

    def entry(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def form(self, entry: Entry, params: Mapping[str, object]) -> str:
        """The text of an entry: the plural form ``count`` asks for, or the one text."""
        if isinstance(entry, str):
            return entry
        count = params.get("count")
        wanted = self._plural(count) if isinstance(count, int) else "other"
        if count == 0 and "zero" in entry:
            wanted = "zero"
        return entry.get(wanted, entry["other"])


@cache
def catalogue(language: str) -> Catalogue:
    """The shipped catalogue of ``language`` (loaded once per process)."""
    return Catalogue.load(language)


class Texts:
    """The texts of one locale: call it with a key and the key's placeholders.

    Parameters that are ``Text``, ``Moment`` or ``Channels`` are rendered here: Texts in this language,
    times and channels by ``markup`` (the chat side's), or plainly without one (for logs); a tuple of them
    is written one after the other, separated by commas.
    """

    def __init__(self, locale: str | None, markup: Markup | None = None) -> None:
        self.locale = locale
        self.language = language_of(locale)
        self.markup = markup
        self._own = catalogue(self.language)
        self._fallback = catalogue(DEFAULT_LANGUAGE)

    def __call__(self, key: str, /, **params: object) -> str:
        entry = self._own.entry(key)
        book = self._own
        if entry is None:
            entry, book = self._fallback.entry(key), self._fallback
            if entry is None:
                raise KeyError(f"no text {key!r} in any catalogue")
            log.warning("text %r missing in %s; showing English", key, self.language)
        values = {name: self._value(value) for name, value in params.items()}
        return book.form(entry, params).format(**values)

    def render(self, text: Text | str) -> str:
        """A ``Text`` in this language; a plain string (already written) as it is."""
        return self(text.key, **text.params) if isinstance(text, Text) else text

    def has(self, key: str) -> bool:
        return self._fallback.entry(key) is not None

    def _value(self, value: object) -> object:
        if isinstance(value, Text):
            return self.render(value)
        if isinstance(value, Moment):
            if self.markup is not None:
                return self.markup.moment(value.at, value.style)
            moment = value.at.astimezone(UTC)
            return self("i18n.plain_time", date=f"{moment:%Y-%m-%d}", time=f"{moment:%H:%M}")
        if isinstance(value, Number):
            return f"{value.value:,}".replace(",", self("i18n.thousands"))
        if isinstance(value, tuple):  # several texts: one after the other, separated by commas
            return ", ".join(str(self._value(item)) for item in value)
        if isinstance(value, Channels):
            if self.markup is not None:
                return ", ".join(self.markup.channel(channel) for channel in value.ids)
            return ", ".join(self("i18n.plain_channel", id=channel) for channel in value.ids)
        return value


@cache
def texts(locale: str | None, markup: Markup | None = None) -> Texts:
    """The texts for a Discord locale (``interaction.locale``, a guild's preferred locale, or None).

    ``markup`` writes times and channels the chat side's way; without it they are written plainly.
    """
    return Texts(locale, markup)
