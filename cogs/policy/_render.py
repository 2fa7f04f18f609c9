"""Text for the /policy commands: what a server's rules are, and what a change did (in the server's language)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import Texts
from bot.policy import Change, Overview
from cogs._shared.text import excerpt

MESSAGE_LIMIT = 1900  # Discord allows 2,000 characters; leave room for a header
SECTION_LIMIT = 400  # per list in /policy show, so every section fits in one message


def literal(text: str) -> str:
    """A moderator's term or pattern shown exactly and inertly: in a code span, or escaped if it has a backtick."""
    flat = " ".join(text.split())
    return f"`{flat}`" if "`" not in flat else excerpt(flat, 200)


def joined(t: Texts, items: Sequence[str], limit: int) -> tuple[str, bool]:
    """``items`` separated by commas within ``limit`` characters, and whether some had to be left out."""
    shown: list[str] = []
    size = 0
    for index, item in enumerate(items):
        rest = len(items) - index
        more = t("policy.and_more", count=rest)
        if size + len(item) + 2 + (len(more) + 2 if rest > 1 else 0) > limit:
            return ", ".join([*shown, more]), True
        shown.append(item)
        size += len(item) + 2
    return ", ".join(shown), False


def terms_text(t: Texts, terms: Sequence[str], limit: int = MESSAGE_LIMIT) -> tuple[str, bool]:
    """The blocked words and phrases, and whether the list was too long to show whole."""
    if not terms:
        return t("policy.terms_none"), False
    listed, cut = joined(t, [literal(term) for term in terms], limit)
    return t("policy.terms", count=len(terms), terms=listed), cut


def patterns_text(t: Texts, patterns: Sequence[str]) -> str:
    """The blocked regular expressions, one a line (there are at most a few dozen, each short)."""
    if not patterns:
        return t("policy.patterns_none")
    return t("policy.patterns", count=len(patterns)) + "\n" + "\n".join(f"- {literal(p)}" for p in patterns)


def channels_text(t: Texts, channels: Sequence[int]) -> str:
    """Where /imagine runs."""
    if not channels:
        return t("policy.channels_all")
    return t("policy.channels", channels=", ".join(f"<#{channel}>" for channel in channels))


def _blocked(member: int, reason: str, chars: int) -> str:
    return f"<@{member}>" + (f" ({excerpt(reason, chars)})" if reason else "")


def blocked_text(t: Texts, blocked: Sequence[tuple[int, str]], limit: int = MESSAGE_LIMIT) -> str:
    """Who is blocked, and the reason each was given."""
    if not blocked:
        return t("policy.blocked_none")
    listed, _ = joined(t, [_blocked(member, reason, 80) for member, reason in blocked], limit)
    return t("policy.blocked", count=len(blocked), members=listed)


def overview_text(t: Texts, overview: Overview) -> str:
    """The whole policy, each list shortened so it fits one message."""
    terms, _ = terms_text(t, overview.terms, SECTION_LIMIT)
    patterns = patterns_text(t, overview.patterns)
    if len(patterns) > SECTION_LIMIT * 2:
        patterns = t("policy.patterns_many", count=len(overview.patterns))
    return "\n".join(
        [
            t("policy.title"),
            terms,
            patterns,
            channels_text(t, overview.channels),
            blocked_text(t, overview.blocked, SECTION_LIMIT),
        ]
    )


def change_text(t: Texts, change: Change, *, done: str, skipped: str) -> str:
    """What adding or removing terms did: each group of terms with what happened to it (``done``, ``skipped``:
    the catalogue keys of those groups)."""
    lines = []
    if change.done:
        lines.append(t(done, count=len(change.done), terms=", ".join(literal(term) for term in change.done)))
    if change.skipped:
        lines.append(t(skipped, terms=", ".join(literal(term) for term in change.skipped)))
    for term, why in change.refused:
        lines.append(t("policy.words.not_added", term=literal(term), why=why))
    return "\n".join(lines) or t("policy.nothing_changed")


def overview_fields(t: Texts, overview: Overview, limit: int = SECTION_LIMIT) -> dict[str, str]:
    """Each of a server's rules as one line, by what moderators call it (the mod-log's before and after)."""
    blocked = [_blocked(member, reason, 100) for member, reason in overview.blocked]
    none = t("policy.fields.none")
    return {
        t("policy.fields.terms"): joined(t, [literal(term) for term in overview.terms], limit)[0] or none,
        t("policy.fields.patterns"): joined(t, [literal(pattern) for pattern in overview.patterns], limit)[0] or none,
        t("policy.fields.channels"): joined(t, [f"<#{channel}>" for channel in overview.channels], limit)[0]
        or t("policy.fields.every_channel"),
        t("policy.fields.members"): joined(t, blocked, limit)[0] or none,
    }
