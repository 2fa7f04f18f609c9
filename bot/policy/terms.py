"""Blocked terms, matched as whole words on every reading of a prompt (see ``normalise``).

A term is one or more words: ``gore`` or ``blood bath``. It hits when its words appear in a row in
any reading of the text, the last one optionally with a plural ``s`` or ``es`` (``cat`` hits
``cats``, never ``concatenate``); a term of several words also hits written as one (``bloodbath``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.i18n import Text
from bot.policy.normalise import readings, spelt_runs, term_words

MIN_TERM_CHARS = 2  # one letter would refuse nearly every prompt
MAX_TERM_CHARS = 100
MAX_TERMS = 200
PLURALS = ("", "s", "es")


@dataclass(frozen=True, slots=True)
class Term:
    """A blocked term as the moderator wrote it, and the folded words it matches."""

    text: str
    words: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Term:
        return cls(text, term_words(text))

    @property
    def key(self) -> str:
        """What two spellings of one term share (``N.S.F.W`` and ``nsfw``, ``blood bath`` and ``bloodbath``)."""
        return "".join(self.words)


def split_terms(raw: str) -> list[str]:
    """A moderator's comma-separated list, trimmed, without empty items or repeats."""
    return list(dict.fromkeys(item.strip() for item in raw.split(",") if item.strip()))


def term_problem(text: str) -> Text | None:
    """Why ``text`` cannot be a blocked term (for the moderator), or None if it can."""
    if len(text) > MAX_TERM_CHARS:
        return Text("errors.term.too_long", limit=MAX_TERM_CHARS)
    if len("".join(term_words(text))) < MIN_TERM_CHARS:
        return Text("errors.term.too_short", count=MIN_TERM_CHARS)
    return None


class TermMatcher:
    """A server's blocked terms, ready to test texts against."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._single: dict[str, str] = {}  # a folded word -> the term it comes from
        self._phrases: list[tuple[str, str]] = []  # " word word " -> the term
        for text in terms:
            term = Term.of(text)
            if not term.words:
                continue
            self._single.setdefault("".join(term.words), text)
            if len(term.words) > 1:
                self._phrases.append((" ".join(term.words), text))

    def __bool__(self) -> bool:
        return bool(self._single)

    def first_hit(self, text: str) -> str | None:
        """The first blocked term ``text`` contains, as the moderator wrote it, or None."""
        if not self or not text:
            return None
        views = readings(text)
        words = {word for view in views for word in view}
        for word in words:
            for ending in PLURALS:
                if ending and not word.endswith(ending):
                    continue
                hit = self._single.get(word[: len(word) - len(ending)])
                if hit is not None:
                    return hit
        for run in spelt_runs(text):  # "a n s f w": the term may sit beside a real one-letter word
            for key, hit in self._single.items():
                if key in run:
                    return hit
        if self._phrases:
            lines = [f" {' '.join(view)} " for view in views]
            for phrase, hit in self._phrases:
                if any(f" {phrase}{ending} " in line for line in lines for ending in PLURALS):
                    return hit
        return None
