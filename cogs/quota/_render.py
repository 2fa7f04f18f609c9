"""Text for balances and policies."""

from __future__ import annotations

from decimal import Decimal

from bot.ledger import PERIOD_ADJECTIVES, AdjustmentKind, AdjustmentResult, Balance, GuildPolicy
from bot.money import format_money
from cogs._shared.text import when


def money(amount: Decimal | None, none: str = "no limit") -> str:
    """``$0.01``, or a word for no amount."""
    return none if amount is None else format_money(amount)


def balance_text(balance: Balance) -> str:
    """A member's own standing this period."""
    adjective = PERIOD_ADJECTIVES[balance.period]
    lines = [f"**Your {adjective} image budget**"]
    if balance.paused:
        lines.append("⏸️ Image generation is paused on this server by its moderators.")
    if balance.exempt:
        lines.append("You are exempt from the per-member limit.")
    elif balance.overdrawn > 0:
        lines.append(f"Limit: {limit_text(balance)} · **overdrawn by {format_money(balance.overdrawn)}**")
        lines.append(
            "Some of your images cost more than was reserved for them. New images can start once "
            "that is covered: when the budget resets, or if a moderator raises your limit or tops you up."
        )
    else:
        lines.append(f"Limit: {limit_text(balance)} · remaining: **{money(balance.available)}**")
    forgiven = f" (a moderator forgave {format_money(balance.forgiven)})" if balance.forgiven else ""
    lines.append(f"Spent: {money(balance.spent)}{forgiven} · reserved for running jobs: {money(balance.reserved)}")
    if balance.server_cap is not None:
        lines.append(f"Server budget left: {money(balance.server_available)} of {money(balance.server_cap)}")
    lines.append(f"Resets {when(balance.resets_at, 'R')}.")
    return "\n".join(lines)


def limit_text(balance: Balance) -> str:
    """``$1.00``, or ``$1.00 + top-up $0.50`` while a moderator's one-off top-up lasts."""
    topup = f" + top-up {format_money(balance.topup)}" if balance.topup else ""
    return f"{money(balance.limit)}{topup}"


def adjustment_text(who: str, result: AdjustmentResult) -> str:
    """A moderator's top-up or reset, with the member's budget before and after it, for the moderator."""
    before, after, amount = result.before, result.after, format_money(result.adjustment.amount)
    if result.adjustment.kind is AdjustmentKind.TOPUP:
        done = f"Topped up {who}'s budget by {amount} for this period only (their limit is unchanged)"
    else:
        done = f"Reset {who}'s spend for this period: forgave {amount} (still counted in /usage)"
    lines = [f"✅ {done}. It ends {when(after.resets_at, 'R')}."]
    if after.exempt:
        lines.append("They are exempt from the per-member limit, so this matters only if that changes.")
    else:
        lines.append(f"Remaining: {money(before.available)} → **{money(after.available)}**")
    if after.reserved:
        lines.append(f"Their running jobs still hold {format_money(after.reserved)}.")
    return "\n".join(lines)


def policy_text(policy: GuildPolicy) -> str:
    """A server's quota settings, for moderators."""
    adjective = PERIOD_ADJECTIVES[policy.period]
    lines = [
        "**Quota settings**",
        f"Default limit: {money(policy.member_limit)} per member, {adjective} ({policy.timezone})",
        f"Server cap: {money(policy.server_cap, 'none')}" + ("" if policy.server_cap is None else f" {adjective}"),
        f"Generation: {'⏸️ paused' if policy.paused else 'running'}",
    ]
    if policy.role_limits:
        roles = ", ".join(f"<@&{role}> {money(limit)}" for role, limit in sorted(policy.role_limits.items()))
        lines.append(f"Role limits (most generous wins): {roles}")
    if policy.exempt_roles:
        lines.append("Exempt roles: " + ", ".join(f"<@&{role}>" for role in sorted(policy.exempt_roles)))
    if policy.member_limits:
        members = ", ".join(f"<@{member}> {money(limit)}" for member, limit in sorted(policy.member_limits.items()))
        lines.append(f"Member limits: {members}")
    return "\n".join(lines)
