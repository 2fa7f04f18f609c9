"""The reference URL helper: reading Discord's ``ex`` and judging what is still usable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.lifecycle.references import ReferenceCheck, earliest_expiry, url_expiry

NOW = datetime(2026, 5, 8, 10, 30, tzinfo=UTC)


def signed(expires: datetime, name: str = "a.png") -> str:
    issued = int((expires - timedelta(days=1)).timestamp())
    return (
        f"https://cdn.discordapp.com/ephemeral-attachments/1/2/{name}"
        f"?ex={int(expires.timestamp()):x}&is={issued:x}&hm=abc123&"
    )


def test_url_expiry_reads_the_hex_ex_parameter() -> None:
    assert url_expiry("https://cdn.discordapp.com/attachments/1/2/a.png?ex=65d903de&is=65c68ede&hm=ff") == (
        datetime(2024, 2, 23, 20, 45, 18, tzinfo=UTC)
    )
    assert url_expiry(signed(NOW)) == NOW


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a.png",  # not a signed URL: no known expiry
        "https://example.com/a.png?ex=",
        "https://example.com/a.png?ex=zz&is=1",
        "https://example.com/a.png?ex=" + "f" * 40,  # beyond any date
        "not a url",
    ],
)
def test_urls_without_a_readable_expiry_have_none(url: str) -> None:
    assert url_expiry(url) is None


def test_earliest_expiry_ignores_unsigned_urls() -> None:
    later, sooner = NOW + timedelta(hours=5), NOW + timedelta(hours=2)
    assert earliest_expiry([signed(later), "https://example.com/x.png", signed(sooner)]) == sooner
    assert earliest_expiry(["https://example.com/x.png"]) is None
    assert earliest_expiry([]) is None


def test_usable_demands_the_margin() -> None:
    check = ReferenceCheck(clock=lambda: NOW, margin=timedelta(hours=1))
    assert check.usable([])
    assert check.usable(["https://example.com/x.png"])
    assert check.usable([signed(NOW + timedelta(hours=23))])
    assert not check.usable([signed(NOW + timedelta(minutes=59))])
    assert not check.usable([signed(NOW - timedelta(days=2))])
    assert not check.usable([signed(NOW + timedelta(hours=23)), signed(NOW + timedelta(minutes=10))])
