"""/help's words (catalogue ``[help]``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.i18n import Texts
from bot.members import ImagesLeft, Standing
from bot.money import format_money
from cogs._shared.budget import budget_words
from cogs._shared.text import when


@dataclass(frozen=True, slots=True)
class Listed:
    """A command as /help lists it: its name and the description it was registered with."""

    name: str
    description: str


@dataclass(frozen=True, slots=True)
class SetupState:
    """What a server's moderators have set so far, for the first steps."""

    limit: Decimal
    period: str
    rules: int  # blocked words and patterns
    channels: int  # channels /imagine is kept to (0: everywhere)
    modlog: int | None


def _command(t: Texts, item: Listed) -> str:
    key = f"help.commands.{item.name}"
    return t("help.command", name=item.name, what=t(key) if t.has(key) else item.description)


def help_text(
    t: Texts, budget: ImagesLeft, everyone: list[Listed], moderators: list[Listed], setup: SetupState | None
) -> str:
    """What the bot does, the budget, the commands; for a moderator (``setup`` given) theirs and the first steps."""
    words = budget_words(t, budget)
    if budget.standing is Standing.LEFT:
        said = t("help.budget", budget=words, resets=when(budget.resets_at, "R"))
    else:
        said = t("help.budget_plain", budget=words)
    lines = [t("help.intro"), "", said]
    lines += ["", t("help.commands_heading"), *(_command(t, item) for item in everyone)]
    if setup is not None:
        lines += ["", t("help.moderators_heading"), *(_command(t, item) for item in moderators)]
        lines.append(t("help.history_member"))
        modlog = f"<#{setup.modlog}>" if setup.modlog else t("help.off")
        where = t("help.channels_some", count=setup.channels) if setup.channels else t("help.channels_all")
        lines += [
            "",
            t("help.steps_heading"),
            t("help.step_limit", limit=format_money(setup.limit), period=t(f"help.period.{setup.period}")),
            t("help.step_policy", rules=t("help.rules", count=setup.rules), channels=where),
            t("help.step_modlog", channel=modlog),
        ]
    return "\n".join(lines)
