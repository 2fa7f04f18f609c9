"""Money in Discord texts reads as people write it; the logs keep format_cost's four decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.money import format_money, parse_money


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0.0100"), "$0.01"),
        (Decimal("0"), "$0.00"),
        (Decimal("0.0125"), "$0.0125"),
        (Decimal("0.016000"), "$0.016"),
        (Decimal("0.00005"), "$0.0001"),
        (Decimal("0.00004"), "$0.00"),
        (Decimal("1E+1"), "$10.00"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("-0.05"), "-$0.05"),
    ],
)
def test_two_decimals_unless_more_are_needed(amount: Decimal, text: str) -> None:
    assert format_money(amount) == text


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("1.50", "1.50"), ("$1,250", "1250"), (" $ 0.0125 ", "0.0125"), ("-2", "-2"), ("0", "0")],
)
def test_amounts_as_people_type_them(typed: str, amount: str) -> None:
    assert parse_money(typed) == Decimal(amount)


@pytest.mark.parametrize("typed", ["lots", "", "$", "NaN", "inf", "1.2.3", "0x10"])
def test_what_is_not_an_amount_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_money(typed)
