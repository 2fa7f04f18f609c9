"""Money as members, moderators and operators write and read it: ``$0.01``, ``$0.0125``, ``$1,250.00``.

The ledger keeps exact ``Decimal`` amounts and the logs show them with
``bot.eggapi.format_cost`` (four fixed decimals); every text a person reads in Discord uses
:func:`format_money` instead, so ``$0.0100`` never reaches a member. Amounts people type (a
setting, a ``/quota`` limit) are read by :func:`parse_money`; EggAPI's own cost strings have their
own lenient reader in ``bot.eggapi``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["format_money", "parse_money"]

_CENTS = Decimal("0.01")
_FINEST = Decimal("0.0001")  # the finest amount a moderator can set, and EggAPI's price precision


def format_money(amount: Decimal) -> str:
    """Two decimals unless more are needed (up to four): ``$0.01``, ``$0.0125``, ``-$2.50``."""
    exact = Decimal(amount).quantize(_FINEST, rounding=ROUND_HALF_UP)
    shown = exact.quantize(_CENTS) if exact == exact.quantize(_CENTS, rounding=ROUND_HALF_UP) else exact.normalize()
    sign = "-" if shown < 0 else ""
    return f"{sign}${abs(shown):,f}"


def parse_money(raw: str) -> Decimal:
    """An amount as a person types it: ``1.50``, ``$1,250``, `` 0.0125 ``; ValueError if it is not a number.

    Bounds (negative, too large, too precise) are the caller's to judge: they differ by use.
    """
    text = raw.strip().removeprefix("$").strip().replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {raw!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount: {raw!r}")
    return value
