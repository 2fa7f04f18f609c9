"""Members' own data: what the bot keeps about a member in a server, and erasing it (/mydata, /policy forget).

``data`` - ``MemberData`` (built once in ``bot.services``): ``record`` reads it all, ``erase`` forgets
prompts, links and settings while the ledger's amounts stay; ``refuse_erased`` is the intake check
that keeps an erased job's Reroll button from running its placeholder.
"""

from .data import (
    ERASED_BY_MEMBER,
    ERASED_BY_MODERATOR,
    PLACEHOLDERS,
    Erasure,
    MemberData,
    MemberRecord,
    refuse_erased,
)

__all__ = [
    "ERASED_BY_MEMBER",
    "ERASED_BY_MODERATOR",
    "PLACEHOLDERS",
    "Erasure",
    "MemberData",
    "MemberRecord",
    "refuse_erased",
]
