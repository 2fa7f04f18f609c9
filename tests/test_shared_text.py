"""The cogs' shared text helpers."""

from __future__ import annotations

from datetime import UTC, datetime

from cogs._shared.text import excerpt, images, plural, when, word


def test_excerpt_is_one_inert_line_within_the_limit() -> None:
    assert excerpt("a  **fox**\n@everyone", 100) == "a \\*\\*fox\\*\\* @\u200beveryone"
    assert excerpt("abcdefghij", 5) == "abcd…"


def test_plural_words() -> None:
    assert [images(1), images(0), plural(3, "task")] == ["1 image", "0 images", "3 tasks"]
    assert [word(1, "was", "were"), word(2, "was", "were")] == ["was", "were"]


def test_when_is_discord_timestamp_markup() -> None:
    moment = datetime(2025, 3, 13, tzinfo=UTC)
    assert when(moment, "R") == "<t:1741824000:R>"
    assert when(moment) == "<t:1741824000:f>"
