"""Every text a member or moderator reads, in their language.

Texts live in one catalogue per language (``catalogues/<language>.toml``), never in code. Code asks for
a text by key: ``texts(locale)("status.queued", job=5)``. A key whose entry is a table of plural forms
(``one``/``other``, plus ``zero``/``few``/``many`` where a language has them) picks the form for its
``count`` parameter by the language's own rule.

Locales are Discord's (``en-US``, ``de``, ``fr``, ``pt-BR``…); one we do not ship falls back to its
language (``es-419`` → ``es``) and then to English, key by key, so a missing translation shows English,
never a key name. ``tests/test_i18n_catalogues.py`` keeps every shipped language complete.
"""

from bot.i18n._catalogue import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Catalogue,
    Texts,
    catalogue,
    language_of,
    placeholders,
    texts,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Catalogue",
    "Texts",
    "catalogue",
    "language_of",
    "placeholders",
    "texts",
]
