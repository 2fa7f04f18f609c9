"""Money as members and moderators read it: ``$0.01``, ``$0.0125``, ``$1,250.00``.

The ledger keeps exact ``Decimal`` amounts and the logs show them with
``bot.eggapi.format_cost`` (four fixed decimals); every text a person reads in Discord uses
:func:`format_money` instead, so ``$0.0100`` never reaches a member.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["format_money"]

_CENTS = Decimal("0.01")
_FINEST = Decimal("0.0001")  # the finest amount a moderator can set, and EggAPI's price precision


def format_money(amount: Decimal) -> str:
    """Two decimals unless more are needed (up to four): ``$0.01``, ``$0.0125``, ``-$2.50``."""
    exact = Decimal(amount).quantize(_FINEST, rounding=ROUND_HALF_UP)
    shown = exact.quantize(_CENTS) if exact == exact.quantize(_CENTS, rounding=ROUND_HALF_UP) else exact.normalize()
    sign = "-" if shown < 0 else ""
    return f"{sign}${abs(shown):,f}"
