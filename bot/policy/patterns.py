"""The regular-expression guard: moderators' patterns are checked when added and time-boxed when used.

Patterns use the ``regex`` package (Python's ``re`` syntax, case-insensitive), because its searches
take a ``timeout``: a pattern that backtracks catastrophically on some prompt cannot stall the bot.
A pattern is refused when added if it does not compile (with the reason), is too long, would match
an empty prompt (refusing everything), or already takes too long on a few adversarial probes. When a
search still runs out of time on a real prompt, the request is refused and a WARNING names the
pattern (fail closed: skipping it would let anyone who finds a slow prompt through that rule).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import regex

from bot.i18n import Text, texts

MAX_PATTERN_CHARS = 200
MAX_PATTERNS = 25
FLAGS = regex.IGNORECASE | regex.V0
PROBE_TIMEOUT = 0.05  # seconds each probe may take when a pattern is added
SEARCH_BUDGET = 0.25  # seconds all of a server's patterns may take on one request, together
PROBE_LENGTH = 40


class PatternError(ValueError):
    """Why a pattern cannot be added: ``text`` for the moderator who wrote it, ``reason`` in English (logs)."""

    def __init__(self, text: Text) -> None:
        self.text = text
        self.reason = texts(None).render(text)
        super().__init__(self.reason)


@dataclass(frozen=True, slots=True)
class PatternVerdict:
    """What the patterns made of a text: the pattern that matched, or the one that ran out of time."""

    matched: str | None = None
    timed_out: str | None = None


@functools.lru_cache(maxsize=512)
def compiled(pattern: str) -> regex.Pattern[str]:
    """The compiled pattern (cached: the same few patterns are used on every request of a server)."""
    return regex.compile(pattern, FLAGS)


def check_pattern(pattern: str) -> regex.Pattern[str]:
    """The compiled pattern, or PatternError saying why it cannot be used."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(Text("errors.pattern.too_long", length=len(pattern), limit=MAX_PATTERN_CHARS))
    try:
        checked = compiled(pattern)
    except regex.error as exc:
        raise PatternError(Text("errors.pattern.invalid", detail=str(exc))) from None  # "missing ) at position 3"
    except (OverflowError, RecursionError, ValueError):
        raise PatternError(Text("errors.pattern.too_complex")) from None
    try:
        if checked.search("", timeout=PROBE_TIMEOUT) is not None:
            raise PatternError(Text("errors.pattern.matches_empty"))
        for probe in _probes(pattern):
            checked.search(probe, timeout=PROBE_TIMEOUT)
    except TimeoutError:
        raise PatternError(Text("errors.pattern.slow")) from None
    return checked


def _probes(pattern: str) -> list[str]:
    """Texts that make a backtracking pattern show itself: runs of its own letters, then a mismatch."""
    letters = list(dict.fromkeys(char for char in pattern.lower() if char.isalnum()))[:8] or ["a"]
    runs = [char * PROBE_LENGTH for char in letters]
    return [*(run + "!" for run in runs), "".join(letters) * PROBE_LENGTH + "!", " ".join(runs) + "!"]


def search(patterns: Sequence[str], texts: Sequence[str], budget: float = SEARCH_BUDGET) -> PatternVerdict:
    """The first pattern that matches any of ``texts``, all searches within ``budget`` seconds together.

    Blocking, but releases the GIL while it searches (``concurrent=True``): run it in a thread.
    A stored pattern that no longer compiles is skipped (it was checked when added).
    """
    deadline = time.monotonic() + budget
    for pattern in patterns:
        try:
            checked = compiled(pattern)
        except (regex.error, OverflowError, RecursionError, ValueError):
            continue
        for text in texts:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return PatternVerdict(timed_out=pattern)
            try:
                if checked.search(text, timeout=remaining, concurrent=True) is not None:
                    return PatternVerdict(matched=pattern)
            except TimeoutError:
                return PatternVerdict(timed_out=pattern)
    return PatternVerdict()
