"""Members' own data and views of it: what is kept about them and erasing it, their job history, their
personal defaults, and their budget in images (the ledger's amounts stay the ledger's).

``data`` - ``MemberData`` (built once in ``bot.services``): ``record`` reads it all, ``erase`` forgets
prompts, links and settings while the ledger's amounts stay; ``refuse_erased`` is the intake check
that keeps an erased job's Reroll button from running its placeholder.
``history`` - ``History``: a member's jobs page by page (``HistoryPage``) and one job by its number
(/history, /show).
``preferences`` - ``MemberPreferences`` and ``Preferences``: defaults /imagine applies when an option
is not given, a prompt suffix, and whether result posts ping the member (/settings).
``budget`` - ``images_left``: the remaining allowance divided by the price per image (/help, /balance).
"""

from .budget import ImagesLeft, Standing, images_left
from .data import (
    ERASED_BY_MEMBER,
    ERASED_BY_MODERATOR,
    PLACEHOLDERS,
    Erasure,
    MemberData,
    MemberRecord,
    refuse_erased,
)
from .history import PAGE_SIZE, History, HistoryEntry, HistoryPage
from .preferences import FIELDS, SUFFIX_MAX, MemberPreferences, Preferences, with_suffix

__all__ = [
    "ERASED_BY_MEMBER",
    "ERASED_BY_MODERATOR",
    "FIELDS",
    "PAGE_SIZE",
    "PLACEHOLDERS",
    "SUFFIX_MAX",
    "Erasure",
    "History",
    "HistoryEntry",
    "HistoryPage",
    "ImagesLeft",
    "MemberData",
    "MemberPreferences",
    "MemberRecord",
    "Preferences",
    "Standing",
    "images_left",
    "refuse_erased",
    "with_suffix",
]
