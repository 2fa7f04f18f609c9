"""/settings' words: a member's defaults as they read them, in their language (catalogue ``[settings]``)."""

from __future__ import annotations

from bot.i18n import Texts
from bot.members import Preferences
from cogs._shared.text import excerpt


def preferences_text(t: Texts, preferences: Preferences, *, changed: str | None = None) -> str:
    """Every default, each with what applies when it is not set; ``changed`` (a key) heads the list."""
    lines = [t(changed)] if changed else []
    lines.append(t("settings.title"))
    rows = (
        ("settings.aspect_ratio", preferences.aspect_ratio, "settings.unset_aspect_ratio"),
        ("settings.count", None if preferences.count is None else str(preferences.count), "settings.unset_count"),
        ("settings.resolution", preferences.resolution, "settings.unset_resolution"),
        (
            "settings.suffix",
            None if preferences.suffix is None else excerpt(preferences.suffix, 200),
            "settings.unset_suffix",
        ),
    )
    for label, value, unset in rows:
        lines.append(t(label, value=t(unset) if value is None else f"**{value}**"))
    lines.append(t("settings.mention", value=t("settings.yes") if preferences.mention else t("settings.no")))
    lines.append(t("settings.footer"))
    return "\n".join(lines)
