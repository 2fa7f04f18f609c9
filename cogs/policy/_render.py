"""Text for the /policy commands: what a server's rules are, and what a change did."""

from __future__ import annotations

from collections.abc import Sequence

from bot.policy import Change, Overview
from cogs._shared.text import excerpt, plural

MESSAGE_LIMIT = 1900  # Discord allows 2,000 characters; leave room for a header
SECTION_LIMIT = 400  # per list in /policy show, so every section fits in one message


def literal(text: str) -> str:
    """A moderator's term or pattern shown exactly and inertly: in a code span, or escaped if it has a backtick."""
    flat = " ".join(text.split())
    return f"`{flat}`" if "`" not in flat else excerpt(flat, 200)


def joined(items: Sequence[str], limit: int) -> tuple[str, bool]:
    """``items`` separated by commas within ``limit`` characters, and whether some had to be left out."""
    shown: list[str] = []
    size = 0
    for index, item in enumerate(items):
        rest = len(items) - index
        tail = len(f", … and {rest} more")
        if size + len(item) + 2 + (tail if rest > 1 else 0) > limit:
            return ", ".join([*shown, f"… and {rest} more"]), True
        shown.append(item)
        size += len(item) + 2
    return ", ".join(shown), False


def terms_text(terms: Sequence[str], limit: int = MESSAGE_LIMIT) -> tuple[str, bool]:
    """The blocked words and phrases, and whether the list was too long to show whole."""
    if not terms:
        return "No blocked words or phrases.", False
    listed, cut = joined([literal(term) for term in terms], limit)
    return f"Blocked words and phrases ({len(terms)}): {listed}", cut


def patterns_text(patterns: Sequence[str]) -> str:
    """The blocked regular expressions, one a line (there are at most a few dozen, each short)."""
    if not patterns:
        return "No blocked regular expressions."
    return f"Blocked regular expressions ({len(patterns)}):\n" + "\n".join(f"- {literal(p)}" for p in patterns)


def channels_text(channels: Sequence[int]) -> str:
    """Where /imagine runs."""
    if not channels:
        return "/imagine runs in every channel the bot can post in."
    return "/imagine runs only in " + ", ".join(f"<#{channel}>" for channel in channels) + " (and their threads)."


def blocked_text(blocked: Sequence[tuple[int, str]], limit: int = MESSAGE_LIMIT) -> str:
    """Who is blocked, and the reason each was given."""
    if not blocked:
        return "No blocked members."
    items = [f"<@{member}>" + (f" ({excerpt(reason, 80)})" if reason else "") for member, reason in blocked]
    listed, _ = joined(items, limit)
    return f"Blocked members ({len(blocked)}): {listed}"


def overview_text(overview: Overview) -> str:
    """The whole policy, each list shortened so it fits one message."""
    terms, _ = terms_text(overview.terms, SECTION_LIMIT)
    patterns = patterns_text(overview.patterns)
    if len(patterns) > SECTION_LIMIT * 2:
        patterns = f"Blocked regular expressions: {len(overview.patterns)} (see `/policy regex list`)."
    return "\n".join(
        [
            "**Prompt policy**",
            terms,
            patterns,
            channels_text(overview.channels),
            blocked_text(overview.blocked, SECTION_LIMIT),
        ]
    )


def change_text(change: Change, *, done: str, skipped: str) -> str:
    """What adding or removing terms did: each group of terms with what happened to it."""
    lines = []
    if change.done:
        lines.append(f"✅ {done} {plural(len(change.done), 'term')}: " + ", ".join(literal(t) for t in change.done))
    if change.skipped:
        lines.append(f"{skipped}: " + ", ".join(literal(t) for t in change.skipped))
    for term, why in change.refused:
        lines.append(f"Not added: {literal(term)} ({why}).")
    return "\n".join(lines) or "Nothing changed."


def overview_fields(overview: Overview, limit: int = SECTION_LIMIT) -> dict[str, str]:
    """Each of a server's rules as one line, by what moderators call it (the mod-log's before and after)."""
    blocked = [f"<@{member}>" + (f" ({excerpt(reason, 100)})" if reason else "") for member, reason in overview.blocked]
    return {
        "the blocked words": joined([literal(term) for term in overview.terms], limit)[0] or "none",
        "the blocked patterns": joined([literal(pattern) for pattern in overview.patterns], limit)[0] or "none",
        "the allowed channels": joined([f"<#{channel}>" for channel in overview.channels], limit)[0] or "every channel",
        "the blocked members": joined(blocked, limit)[0] or "none",
    }
