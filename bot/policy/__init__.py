"""A server's prompt policy: who may make images, in which channels, and from which prompts.

Discord-free. In the order a request meets it:

- ``service``: ``PromptPolicy``; its ``check`` is the ``IntakeCheck`` ``bot.services`` registers
  (blocked member, then channel rules, then the prompt and negative prompt), and its other methods
  are what the /policy commands call. The rules live in ``bot.guilds`` settings.
- ``normalise``: ``fold`` and ``readings``: the prompt as the words it reads as, so case, accents,
  look-alike letters, leetspeak and separators inside a word do not get around a term.
- ``terms``: ``TermMatcher``: blocked words and phrases, matched as whole words on those readings.
- ``patterns``: the regular-expression guard: checked when added, time-boxed when used.
"""

from .normalise import fold, readings, term_words
from .patterns import MAX_PATTERN_CHARS, MAX_PATTERNS, PatternError, PatternVerdict, check_pattern, search
from .service import PROMPT_SUFFIX, Change, MemberBlocked, Overview, PromptPolicy
from .terms import MAX_TERMS, TermMatcher, split_terms

__all__ = [
    "MAX_PATTERNS",
    "MAX_PATTERN_CHARS",
    "MAX_TERMS",
    "PROMPT_SUFFIX",
    "Change",
    "MemberBlocked",
    "Overview",
    "PatternError",
    "PatternVerdict",
    "PromptPolicy",
    "TermMatcher",
    "check_pattern",
    "fold",
    "readings",
    "search",
    "split_terms",
    "term_words",
]
