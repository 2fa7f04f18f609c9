"""Prompt text folded to what it reads as, so the easy evasions of a word list fail.

``fold`` undoes case, accents, look-alike letters (Cyrillic, Greek, fullwidth, styled maths letters),
leetspeak digits and invisible characters. ``readings`` then cuts the folded text into words in the
ways a reader would join them back: as written (``well-known`` is ``well`` ``known``), with the
separators inside a run of letters dropped (``n.s.f.w`` and ``n-s-f-w`` are ``nsfw``), and with a
run of single letters spelt out one by one joined (``n s f w`` is ``nsfw``; ``spelt_runs``). Matching
is by whole words on these readings, so a term never hits inside an innocent word ("ass" is not in
"class"); only inside a spelt-out run is a term looked for as a part (``a n s f w`` has ``nsfw``).
"""

from __future__ import annotations

import re
import unicodedata

# Letters that look like Latin ones, by what they look like (upper and lower case: casefold comes after).
_LOOK_ALIKES = {
    # Cyrillic
    "А": "a", "а": "a", "В": "b", "в": "b", "С": "c", "с": "c", "Е": "e", "е": "e", "Н": "h", "н": "h",
    "І": "i", "і": "i", "Ј": "j", "ј": "j", "К": "k", "к": "k", "М": "m", "м": "m", "О": "o", "о": "o",
    "Р": "p", "р": "p", "Ѕ": "s", "ѕ": "s", "Т": "t", "т": "t", "У": "y", "у": "y", "Х": "x", "х": "x",
    "Ү": "y", "ү": "y", "Ԁ": "d", "ԁ": "d", "Һ": "h", "һ": "h", "Ӏ": "l", "ӏ": "l", "Ԛ": "q", "ԛ": "q",
    "Ԝ": "w", "ԝ": "w", "Ь": "b", "ь": "b",
    # Greek
    "Α": "a", "α": "a", "Β": "b", "β": "b", "Ε": "e", "ε": "e", "Ζ": "z", "Η": "h", "η": "n", "Ι": "i",
    "ι": "i", "Κ": "k", "κ": "k", "Μ": "m", "Ν": "n", "ν": "v", "Ο": "o", "ο": "o", "Ρ": "p", "ρ": "p",
    "Τ": "t", "τ": "t", "Υ": "y", "υ": "u", "Χ": "x", "χ": "x", "ϲ": "c", "Ϲ": "c", "ω": "w",
    # Latin letters that are not plain but do not decompose
    "ı": "i", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ħ": "h", "ɡ": "g", "ß": "ss",
}  # fmt: skip
# Digits and symbols written for letters (leetspeak). Applied after casefold.
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s", "€": "e"}
_TABLE = str.maketrans(_LOOK_ALIKES)
_LEET_TABLE = str.maketrans(_LEET)
_PIECE = re.compile(r"[^\W_]+")  # a run of letters or digits; everything else separates


def fold(text: str) -> str:
    """``text`` as the plain lower-case letters it reads as (separators are kept, for ``readings``)."""
    text = unicodedata.normalize("NFKC", text)  # fullwidth and styled letters, ligatures
    text = "".join(char for char in unicodedata.normalize("NFKD", text) if not _hidden(char))  # accents
    text = text.translate(_TABLE).casefold().translate(_LEET_TABLE)
    return unicodedata.normalize("NFC", text)


def _hidden(char: str) -> bool:
    """Combining accents and invisible characters (zero-width spaces and joiners, soft hyphens)."""
    return unicodedata.category(char) in ("Mn", "Me", "Cf")


def readings(text: str) -> tuple[tuple[str, ...], ...]:
    """The folded words of ``text``, in each way a reader could join them (see the module's docstring)."""
    folded = fold(text)
    chunks = [_PIECE.findall(chunk) for chunk in folded.split()]
    pieces = tuple(piece for chunk in chunks for piece in chunk)
    joined = tuple("".join(chunk) for chunk in chunks if chunk)
    found = dict.fromkeys((pieces, joined, _spelt_out(pieces), _spelt_out(joined)))
    return tuple(reading for reading in found if reading)


def spelt_runs(text: str) -> tuple[str, ...]:
    """Each run of two or more single letters in ``text``, joined: ``a n s f w fox`` → ``ansfw``.

    A term spelt out letter by letter may sit inside such a run next to a real one-letter word
    ("a"), so terms are looked for inside these runs (``terms``), not only equal to them.
    """
    folded = fold(text)
    pieces = [piece for chunk in folded.split() for piece in _PIECE.findall(chunk)]
    return tuple(word for word in _spelt_out(tuple(pieces)) if len(word) >= 2 and word not in pieces)


def _spelt_out(words: tuple[str, ...]) -> tuple[str, ...]:
    """Join each run of two or more single letters into one word: ``n s f w`` → ``nsfw``."""
    out: list[str] = []
    run: list[str] = []
    for word in (*words, ""):
        if len(word) == 1:
            run.append(word)
            continue
        if len(run) >= 2:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if word:
            out.append(word)
    return tuple(out)


def term_words(term: str) -> tuple[str, ...]:
    """A blocked term as the folded words it must match (``Blood-Bath`` → ``blood``, ``bath``)."""
    return tuple(_PIECE.findall(fold(term)))
