"""A member's budget in images, in words (catalogue ``[budget]``): /help says it, /balance adds it to the dollars."""

from __future__ import annotations

from decimal import Decimal

from bot.i18n import Texts
from bot.members import ImagesLeft, Standing
from bot.money import format_money


def budget_words(t: Texts, budget: ImagesLeft) -> str:
    """``about 3 images left today``, or why there is no number (paused, overdrawn, no limit)."""
    if budget.standing is Standing.PAUSED:
        return t("budget.paused")
    if budget.standing is Standing.OVERDRAWN:
        return t("budget.overdrawn")
    if budget.standing is Standing.UNLIMITED:
        return t("budget.unlimited")
    assert budget.images is not None
    words = t(f"budget.left.{budget.period}", count=budget.images)
    return words + t("budget.shared") if budget.shared else words


def budget_line(t: Texts, budget: ImagesLeft, price: Decimal) -> str:
    """The line /balance adds below the dollars: the same budget in images, at the current price."""
    return t("budget.balance_line", budget=budget_words(t, budget), price=format_money(price))
