"""Command names, descriptions, options and choices in every shipped language, from the ``[commands]`` table.

discord.py asks the tree's translator for each string of each command, in each of Discord's locales, when
it syncs; what it returns is sent as ``name_localizations`` / ``description_localizations``, and Discord
shows members the names in their own language (interactions still carry the English names). The key of a
string is where it sits in the tree:

- ``commands.<command path>.name`` / ``.description``: ``commands.policy.words.add.name``;
- ``commands.<command path>.options.<option>.name`` / ``.description``;
- ``commands.choices.<value>``: a choice, by its value (discord.py tells a choice nothing of its option);
  a ``locale_str(…, key=…)`` names its own key instead (``/usage period``, whose values are not unique).

English is the code's own text (``tests/test_e2e_i18n.py`` checks it matches the English catalogue), so
English locales get no localisation; a language we do not ship gets none either (Discord shows English).
A name Discord would refuse is logged and left out rather than failing the sync.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue, language_of

log = logging.getLogger(__name__)

# Discord's rule for command and option names: ^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$, lower case.
_NAME = re.compile(r"^[-_\w]{1,32}$")
DESCRIPTION_MAX = 100
CHOICE_NAME_MAX = 100
NAMES = (Where.command_name, Where.group_name, Where.parameter_name)
DESCRIPTIONS = (Where.command_description, Where.group_description, Where.parameter_description)


def valid_name(name: str) -> bool:
    """Whether Discord takes ``name`` as a command or option name (letters, digits, ``-`` and ``_``; lower case)."""
    return bool(_NAME.match(name)) and name == name.lower()


def _path(command: app_commands.Command[Any, ..., Any] | app_commands.Group) -> str:
    return ".".join(command.qualified_name.split())


def text_key(string: app_commands.locale_str, context: app_commands.TranslationContextTypes) -> str | None:
    """The catalogue key of a command's string, from where it sits in the tree (or the key it names itself)."""
    named = string.extras.get("key")
    if isinstance(named, str):
        return named
    where, data = context.location, context.data
    if isinstance(data, app_commands.Command | app_commands.Group):
        part = "name" if where in NAMES else "description"
        return f"commands.{_path(data)}.{part}"
    if isinstance(data, app_commands.Parameter):
        part = "name" if where is Where.parameter_name else "description"
        return f"commands.{_path(data.command)}.options.{data.name}.{part}"
    if isinstance(data, app_commands.Choice):
        return f"commands.choices.{data.value}"
    return None


class CatalogueTranslator(app_commands.Translator):
    """Hands discord.py the ``[commands]`` texts of each shipped language."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        language = language_of(locale.value)
        if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
            return None  # English is the code's own text; other languages fall back to it on Discord's side
        key = text_key(string, context)
        if key is None:
            return None
        text = catalogue(language).entry(key)
        if not isinstance(text, str):
            log.warning("no %s text %r for the command string %r", language, key, string.message)
            return None
        if context.location in NAMES and not valid_name(text):
            log.error("%s name %r (%s) is not a valid Discord name; not sent", language, text, key)
            return None
        limit = DESCRIPTION_MAX if context.location in DESCRIPTIONS else CHOICE_NAME_MAX
        if len(text) > limit:
            log.error("%s text %r (%s) is longer than Discord's %d characters; not sent", language, text, key, limit)
            return None
        return text
