"""A member's budget in images: what is left of their allowance, divided by the current price per image.

Members think in pictures, not dollars: "about 3 images left today". The allowance is the ledger's
(``Balance``): the member's own remaining budget, or the server's shared one when that is smaller.
The price is ``Ledger.unit_price()``, the same figure the next job's hold uses, so the estimate is
what the next request would find (prices can rise, hence "about").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from bot.ledger import Balance, Period


class Standing(enum.StrEnum):
    """How much a member can make, in a word."""

    PAUSED = "paused"  # the moderators stopped generation on the server
    OVERDRAWN = "overdrawn"  # settled costs went past the limit: nothing until it is covered
    UNLIMITED = "unlimited"  # exempt from a member limit, and no server cap
    LEFT = "left"  # ``images`` more (possibly 0) this period


@dataclass(frozen=True, slots=True)
class ImagesLeft:
    """The budget in images: ``images`` is None unless ``standing`` is LEFT."""

    standing: Standing
    images: int | None
    period: Period
    resets_at: datetime
    shared: bool = False  # the server's shared budget is what limits the member now


def images_left(balance: Balance, price: Decimal) -> ImagesLeft:
    """How many images ``balance`` still pays for at ``price`` per image (rounded down)."""
    if balance.paused:
        return ImagesLeft(Standing.PAUSED, None, balance.period, balance.resets_at)
    if balance.overdrawn > 0:
        return ImagesLeft(Standing.OVERDRAWN, None, balance.period, balance.resets_at)
    own, server = balance.available, balance.server_available
    if own is None and server is None:
        return ImagesLeft(Standing.UNLIMITED, None, balance.period, balance.resets_at)
    shared = own is None or (server is not None and server < own)
    allowance = server if shared else own
    assert allowance is not None
    images = int((allowance / price).to_integral_value(rounding=ROUND_FLOOR)) if price > 0 else 0
    return ImagesLeft(Standing.LEFT, max(images, 0), balance.period, balance.resets_at, shared)
