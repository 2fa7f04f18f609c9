"""Text for balances and policies: a member's in their language, the server's settings in the server's."""

from __future__ import annotations

from decimal import Decimal

from bot.i18n import Text, Texts
from bot.ledger import AdjustmentKind, AdjustmentResult, Balance, GuildPolicy
from bot.money import format_money
from cogs._shared.text import when


def money(t: Texts, amount: Decimal | None, none: str = "quota.no_limit") -> str:
    """``$0.01``, or the words (a catalogue key) for no amount."""
    return t(none) if amount is None else format_money(amount)


def balance_text(t: Texts, balance: Balance) -> str:
    """A member's own standing this period."""
    lines = [t("quota.balance.title", budget=Text(f"errors.quota.budget.{balance.period}"))]
    if balance.paused:
        lines.append(t("quota.balance.paused"))
    if balance.exempt:
        lines.append(t("quota.balance.exempt"))
    elif balance.overdrawn > 0:
        lines.append(t("quota.balance.overdrawn", limit=limit_text(t, balance), over=format_money(balance.overdrawn)))
        lines.append(t("quota.balance.overdrawn_why"))
    else:
        lines.append(t("quota.balance.remaining", limit=limit_text(t, balance), left=money(t, balance.available)))
    forgiven = Text("quota.balance.forgiven", amount=format_money(balance.forgiven)) if balance.forgiven else ""
    spent, reserved = money(t, balance.spent), money(t, balance.reserved)
    lines.append(t("quota.balance.spent", spent=spent, forgiven=forgiven, reserved=reserved))
    if balance.server_cap is not None:
        cap = money(t, balance.server_cap)
        lines.append(t("quota.balance.server", left=money(t, balance.server_available), cap=cap))
    lines.append(t("quota.balance.resets", when=when(balance.resets_at, "R")))
    return "\n".join(lines)


def limit_text(t: Texts, balance: Balance) -> str:
    """``$1.00``, or ``$1.00 + top-up $0.50`` while a moderator's one-off top-up lasts."""
    if not balance.topup:
        return money(t, balance.limit)
    return t("quota.with_topup", limit=money(t, balance.limit), topup=format_money(balance.topup))


def adjustment_text(t: Texts, who: str, result: AdjustmentResult) -> str:
    """A moderator's top-up or reset, with the member's budget before and after it, for the moderator."""
    before, after, amount = result.before, result.after, format_money(result.adjustment.amount)
    kind = "topped_up" if result.adjustment.kind is AdjustmentKind.TOPUP else "reset"
    lines = [t(f"quota.adjust.{kind}", member=who, amount=amount, when=when(after.resets_at, "R"))]
    if after.exempt:
        lines.append(t("quota.adjust.exempt"))
    else:
        lines.append(t("quota.adjust.remaining", before=money(t, before.available), after=money(t, after.available)))
    if after.reserved:
        lines.append(t("quota.adjust.held", amount=format_money(after.reserved)))
    return "\n".join(lines)


def policy_text(t: Texts, policy: GuildPolicy) -> str:
    """A server's quota settings, for moderators (one setting a line: the mod-log compares them by line)."""
    period = Text(f"quota.period.{policy.period}")
    limit = money(t, policy.member_limit)
    cap = (
        t("quota.policy.cap_none")
        if policy.server_cap is None
        else t("quota.policy.cap", cap=format_money(policy.server_cap), period=period)
    )
    lines = [
        t("quota.policy.title"),
        t("quota.policy.default", limit=limit, period=period, timezone=policy.timezone),
        cap,
        t("quota.policy.paused" if policy.paused else "quota.policy.running"),
    ]
    if policy.role_limits:
        roles = ", ".join(f"<@&{role}> {money(t, limit)}" for role, limit in sorted(policy.role_limits.items()))
        lines.append(t("quota.policy.roles", roles=roles))
    if policy.exempt_roles:
        lines.append(
            t("quota.policy.exempt_roles", roles=", ".join(f"<@&{role}>" for role in sorted(policy.exempt_roles)))
        )
    if policy.member_limits:
        members = ", ".join(f"<@{member}> {money(t, limit)}" for member, limit in sorted(policy.member_limits.items()))
        lines.append(t("quota.policy.members", members=members))
    return "\n".join(lines)
