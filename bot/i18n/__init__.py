"""Every text a member or moderator reads, in their language.

Texts live in one catalogue per language (``catalogues/<language>.toml``), never in code. Code asks for
a text by key: ``texts(locale)("status.queued", job=5)``. A key whose entry is a table of plural forms
(``one``/``other``, plus ``zero``/``few``/``many`` where a language has them) picks the form for its
``count`` parameter by the language's own rule.

Locales are Discord's (``en-US``, ``de``, ``fr``, ``pt-BR``…); one we do not ship falls back to its
language (``es-419`` → ``es``) and then to English, key by key, so a missing translation shows English,
never a key name. ``tests/test_i18n_catalogues.py`` keeps every shipped language complete.

The core decides *which* text a member will read before it knows who reads it: it hands over a ``Text``
(a key and its parameters), rendered later by ``texts(locale).render(text)``. Times and channels in it are
``Moment`` and ``Channels``, which the chat side writes its own way (a ``Markup``: ``texts(locale, markup)``),
so a reset time reads "in 3 hours" in each reader's clock; without a markup they are written plainly.
Command names and descriptions live in the ``[commands]`` table, which ``bot.app.translator`` hands to
Discord.
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
from bot.i18n._params import Channels, Markup, Moment, Number, Text, TimeStyle

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Catalogue",
    "Channels",
    "Markup",
    "Moment",
    "Number",
    "Text",
    "Texts",
    "TimeStyle",
    "catalogue",
    "language_of",
    "placeholders",
    "texts",
]
