"""Discord's server-side validation rules for command syncs and message payloads.

Private helper module of :mod:`testkit.fake_discord`. Every check returns Discord's
``Invalid Form Body`` error tree (``{"field": {"0": {"_errors": [{"code", "message"}]}}}``) so the
bot sees the same ``HTTPException`` text it would get from Discord.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from .models import MessageFlags
from .records import SELECT_TYPES, DiscordHTTPError, FilePart, iter_components

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_ATTACHMENTS = 10
MAX_ACTION_ROWS = 5
MAX_ROW_ITEMS = 5
MAX_V2_COMPONENTS = 40
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_STRING_OPTION_LENGTH = 6000
MAX_SAFE_INTEGER = 2**53
COMMAND_LIMITS = {1: 100, 2: 15, 3: 15}
# Discord's locales (the OpenAPI spec's AvailableLocalesEnum): the only keys a *_localizations dict takes.
LOCALES = frozenset(
    {
        "ar", "bg", "cs", "da", "de", "el", "en-GB", "en-US", "es-419", "es-ES", "fi", "fr", "he", "hi", "hr", "hu",
        "id", "it", "ja", "ko", "lt", "nl", "no", "pl", "pt-BR", "ro", "ru", "sv-SE", "th", "tr", "uk", "vi", "zh-CN",
        "zh-TW",
    }
)  # fmt: skip
MAX_LOCALIZATIONS = 34  # the spec's maxProperties


class FormErrors:
    """Builder for Discord's nested ``errors`` object."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        """Add one error at ``path`` (e.g. ``(0, "options", 1, "name")``)."""
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self.tree)

    def raise_if_any(self) -> None:
        """Raise Discord's 400/50035 if anything was added."""
        if self.tree:
            raise DiscordHTTPError(400, 50035, "Invalid Form Body", self.tree, violation="invalid_form_body")

    def length(self, path: Sequence[str | int], value: Any, low: int, high: int) -> None:
        """Check that ``value`` is a string of ``low..high`` characters."""
        if not isinstance(value, str):
            self.add(path, "BASE_TYPE_STRING", "Could not interpret value as string.")
        elif not low <= len(value) <= high:
            if low == 0:
                self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {high} or fewer in length.")
            else:
                self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")


def _is_safe_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_SAFE_INTEGER


def _name_char_ok(ch: str) -> bool:
    if ch in "-_'":
        return True
    category = unicodedata.category(ch)
    if category[0] in "LN":
        return True
    # Devanagari and Thai vowel signs are combining marks, which Discord's regex allows.
    return category[0] == "M" and ("\u0900" <= ch <= "\u097f" or "\u0e00" <= ch <= "\u0e7f")


def valid_chat_input_name(name: Any) -> bool:
    """``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$`` and lower case where possible."""
    return (
        isinstance(name, str) and 1 <= len(name) <= 32 and all(_name_char_ok(c) for c in name) and name == name.lower()
    )


# --------------------------------------------------------------------------- commands


def validate_commands(body: Any) -> None:
    """Validate a bulk-overwrite body (``PUT .../commands``); raise 400/50035 if Discord would."""
    errors = FormErrors()
    if not isinstance(body, list):
        errors.add((), "BASE_TYPE_ARRAY", "Must be an array.")
        errors.raise_if_any()
    seen: dict[tuple[int, str], int] = {}
    per_type: dict[int, int] = {}
    for index, command in enumerate(body):
        if not isinstance(command, Mapping):
            errors.add((index,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        ctype = command.get("type") or 1
        per_type[ctype] = per_type.get(ctype, 0) + 1
        _validate_command(errors, index, command, ctype)
        key = (ctype, str(command.get("name")))
        if key in seen:
            errors.add(
                (index, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique (duplicate of command {seen[key]})",
            )
        seen[key] = index
    for ctype, count in per_type.items():
        limit = COMMAND_LIMITS.get(ctype, 100)
        if count > limit:
            errors.add((), "APPLICATION_COMMAND_TOO_MANY", f"Maximum number of type {ctype} commands ({limit}) reached")
    errors.raise_if_any()


def _validate_command(errors: FormErrors, index: int, command: Mapping[str, Any], ctype: Any) -> None:
    path: tuple[str | int, ...] = (index,)
    if ctype not in (1, 2, 3):
        errors.add((*path, "type"), "BASE_TYPE_CHOICES", f"Value must be one of {{1, 2, 3}}. (got {ctype!r})")
        return
    name = command.get("name")
    if ctype == 1:
        if not valid_chat_input_name(name):
            errors.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        errors.length((*path, "description"), command.get("description"), 1, 100)
        _validate_options(errors, (*path, "options"), command.get("options") or [], depth=0)
    else:
        errors.length((*path, "name"), name, 1, 32)
        if command.get("description") not in (None, ""):
            errors.add(
                (*path, "description"),
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                "Context menu commands cannot have description",
            )
        if command.get("options"):
            errors.add(
                (*path, "options"),
                "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS",
                "Context menu commands cannot have options",
            )
    perms = command.get("default_member_permissions")
    if perms is not None and not (isinstance(perms, int) or (isinstance(perms, str) and perms.isdigit())):
        errors.add((*path, "default_member_permissions"), "BASE_TYPE_INTEGER", "Value is not int.")
    for key, allowed in (("contexts", {0, 1, 2}), ("integration_types", {0, 1})):
        value = command.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not value or len(set(value)) != len(value) or not set(value) <= allowed:
            errors.add(
                (*path, key), "BASE_TYPE_CHOICES", f"Value must be a non-empty unique list of {sorted(allowed)}."
            )
    # A chat-input command's localised names follow the name rule; Discord then names the dict, not the locale.
    _validate_localizations(errors, path, command, name_rule=ctype == 1, per_locale=False)


def _validate_localizations(
    errors: FormErrors, path: tuple[str | int, ...], obj: Mapping[str, Any], *, name_rule: bool, per_locale: bool
) -> None:
    """``name_localizations`` (32 characters; Discord's name rule for chat-input names) and
    ``description_localizations`` (100) of a command or option."""
    names = _validate_localization_dict(errors, path, "name_localizations", obj, 32)
    if name_rule:
        bad = [locale for locale, text in names.items() if isinstance(text, str) and not valid_chat_input_name(text)]
        for locale in bad if per_locale else bad[:1]:
            where = (*path, "name_localizations", locale) if per_locale else (*path, "name_localizations")
            errors.add(where, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    _validate_localization_dict(errors, path, "description_localizations", obj, 100)


def _validate_localization_dict(
    errors: FormErrors, path: tuple[str | int, ...], key: str, obj: Mapping[str, Any], high: int
) -> Mapping[str, Any]:
    """One ``*_localizations`` dict: Discord's locales as keys, strings of 1..``high`` characters; the dict."""
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.add((*path, key), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return {}
    if len(value) > MAX_LOCALIZATIONS:
        errors.add((*path, key), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_LOCALIZATIONS} or fewer in length.")
    for locale, text in value.items():
        if locale not in LOCALES:
            choices = ", ".join(repr(known) for known in sorted(LOCALES))
            errors.add((*path, key, locale), "BASE_TYPE_CHOICES", f"Value must be one of ({choices}).")
        else:
            errors.length((*path, key, locale), text, 1, high)
    return value


def _validate_options(errors: FormErrors, path: tuple[str | int, ...], options: Any, depth: int) -> None:
    if not isinstance(options, list):
        errors.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
        return
    if len(options) > MAX_OPTIONS:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_OPTIONS} or fewer in length.")
    kinds = {opt.get("type") in (1, 2) for opt in options if isinstance(opt, Mapping)}
    if len(kinds) > 1:
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all other types",
        )
    names: set[str] = set()
    seen_optional = False
    for i, opt in enumerate(options):
        here = (*path, i)
        if not isinstance(opt, Mapping):
            errors.add(here, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        raw_type = opt.get("type")
        if not isinstance(raw_type, int) or raw_type not in range(1, 12):
            errors.add((*here, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, ..., 11}.")
            continue
        otype: int = raw_type
        if (otype == 2 and depth != 0) or (otype == 1 and depth == 2) or (depth == 1 and otype != 1):
            errors.add(
                (*here, "type"),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-command groups may only contain sub-commands, nested at most two levels deep",
            )
        name = opt.get("name")
        if not valid_chat_input_name(name):
            errors.add((*here, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        elif name in names:
            errors.add(
                (*here, "name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique"
            )
        names.add(str(name))
        errors.length((*here, "description"), opt.get("description"), 1, 100)
        _validate_localizations(errors, here, opt, name_rule=True, per_locale=True)
        if otype in (1, 2):
            inner_depth = 1 if otype == 2 else 2
            _validate_options(errors, (*here, "options"), opt.get("options") or [], inner_depth)
            continue
        if opt.get("required"):
            if seen_optional:
                errors.add(
                    path,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        _validate_option_constraints(errors, here, opt, otype)


def _validate_option_constraints(
    errors: FormErrors, here: tuple[str | int, ...], opt: Mapping[str, Any], otype: int
) -> None:
    choices = opt.get("choices")
    if choices:
        if otype not in (3, 4, 10):
            errors.add(
                (*here, "choices"),
                "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                "Choices are only allowed for string, integer and number options",
            )
        if len(choices) > MAX_CHOICES:
            errors.add((*here, "choices"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CHOICES} or fewer in length.")
        if opt.get("autocomplete"):
            errors.add(
                (*here, "autocomplete"),
                "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                "Autocomplete cannot be set with choices",
            )
        for j, choice in enumerate(choices):
            errors.length((*here, "choices", j, "name"), choice.get("name"), 1, 100)
            _validate_localization_dict(errors, (*here, "choices", j), "name_localizations", choice, 100)
            value = choice.get("value")
            if otype == 3:
                errors.length((*here, "choices", j, "value"), value, 1, 100)
            elif otype == 4 and not _is_safe_int(value):
                errors.add((*here, "choices", j, "value"), "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
            elif otype == 10 and (not isinstance(value, (int, float)) or isinstance(value, bool)):
                errors.add((*here, "choices", j, "value"), "NUMBER_TYPE_COERCE", f'Value "{value}" is not a number.')
    if opt.get("autocomplete") and otype not in (3, 4, 10):
        errors.add(
            (*here, "autocomplete"),
            "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
            "Autocomplete is only allowed for string, integer and number options",
        )
    low_len, high_len = opt.get("min_length"), opt.get("max_length")
    if (low_len is not None or high_len is not None) and otype != 3:
        errors.add(here, "APPLICATION_COMMAND_OPTION_INVALID", "min_length/max_length only apply to strings")
    if low_len is not None and not (isinstance(low_len, int) and 0 <= low_len <= MAX_STRING_OPTION_LENGTH):
        errors.add(
            (*here, "min_length"), "NUMBER_TYPE_MAX", f"int value should be between 0 and {MAX_STRING_OPTION_LENGTH}."
        )
    if high_len is not None and not (isinstance(high_len, int) and 1 <= high_len <= MAX_STRING_OPTION_LENGTH):
        errors.add(
            (*here, "max_length"), "NUMBER_TYPE_MAX", f"int value should be between 1 and {MAX_STRING_OPTION_LENGTH}."
        )
    if isinstance(low_len, int) and isinstance(high_len, int) and low_len > high_len:
        errors.add((*here, "min_length"), "APPLICATION_COMMAND_OPTION_INVALID", "min_length must be <= max_length")
    low, high = opt.get("min_value"), opt.get("max_value")
    if (low is not None or high is not None) and otype not in (4, 10):
        errors.add(here, "APPLICATION_COMMAND_OPTION_INVALID", "min_value/max_value only apply to numbers")
    for key, value in (("min_value", low), ("max_value", high)):
        if value is None:
            continue
        if otype == 4 and not _is_safe_int(value):
            errors.add((*here, key), "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
        elif otype == 10 and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            errors.add((*here, key), "NUMBER_TYPE_COERCE", f'Value "{value}" is not a number.')
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
        errors.add((*here, "min_value"), "APPLICATION_COMMAND_OPTION_INVALID", "min_value must be <= max_value")
    channel_types = opt.get("channel_types")
    if channel_types is not None and otype != 7:
        errors.add(
            (*here, "channel_types"),
            "APPLICATION_COMMAND_OPTION_INVALID",
            "channel_types only apply to channel options",
        )


# --------------------------------------------------------------------------- messages


def _embed_text_length(embed: Mapping[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
    for fld in embed.get("fields") or []:
        total += len(fld.get("name") or "") + len(fld.get("value") or "")
    return total


def _validate_embeds(errors: FormErrors, embeds: Any) -> None:
    if not isinstance(embeds, list):
        errors.add(("embeds",), "BASE_TYPE_ARRAY", "Must be an array.")
        return
    if len(embeds) > MAX_EMBEDS:
        errors.add(("embeds",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
    for i, embed in enumerate(embeds):
        here: tuple[str | int, ...] = ("embeds", i)
        for key, high in (("title", 256), ("description", 4096)):
            if embed.get(key) is not None:
                errors.length((*here, key), embed[key], 0, high)
        if (embed.get("footer") or {}).get("text") is not None:
            errors.length((*here, "footer", "text"), embed["footer"]["text"], 0, 2048)
        if (embed.get("author") or {}).get("name") is not None:
            errors.length((*here, "author", "name"), embed["author"]["name"], 0, 256)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errors.add((*here, "fields"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for j, fld in enumerate(fields):
            errors.length((*here, "fields", j, "name"), fld.get("name"), 1, 256)
            errors.length((*here, "fields", j, "value"), fld.get("value"), 1, 1024)
    if sum(_embed_text_length(e) for e in embeds if isinstance(e, Mapping)) > MAX_EMBED_TOTAL:
        errors.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}")


def _validate_components(errors: FormErrors, components: Any, v2: bool) -> None:
    if not isinstance(components, list):
        errors.add(("components",), "BASE_TYPE_ARRAY", "Must be an array.")
        return
    everything = list(iter_components(components))
    if v2:
        if len(everything) > MAX_V2_COMPONENTS:
            errors.add(("components",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_V2_COMPONENTS} or fewer in length.")
    else:
        if len(components) > MAX_ACTION_ROWS:
            errors.add(("components",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ACTION_ROWS} or fewer in length.")
        for i, row in enumerate(components):
            if row.get("type") != 1:
                errors.add(
                    ("components", i, "type"),
                    "UNION_TYPE_CHOICES",
                    'Value of field "type" must be one of (1,). Set the IS_COMPONENTS_V2 flag for layouts.',
                )
                continue
            items = row.get("components") or []
            if not 1 <= len(items) <= MAX_ROW_ITEMS:
                errors.add(
                    ("components", i, "components"),
                    "BASE_TYPE_BAD_LENGTH",
                    f"Must be between 1 and {MAX_ROW_ITEMS} in length.",
                )
            if any(c.get("type") in SELECT_TYPES for c in items) and len(items) > 1:
                errors.add(
                    ("components", i, "components"),
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "The specified component exceeds the maximum width",
                )
            for j, comp in enumerate(items):
                _validate_interactive(errors, ("components", i, "components", j), comp)
    custom_ids = [c["custom_id"] for c in everything if c.get("custom_id") is not None]
    if len(custom_ids) != len(set(custom_ids)):
        errors.add(("components",), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")


def _validate_interactive(errors: FormErrors, here: tuple[str | int, ...], comp: Mapping[str, Any]) -> None:
    ctype = comp.get("type")
    if comp.get("custom_id") is not None:
        errors.length((*here, "custom_id"), comp["custom_id"], 1, MAX_CUSTOM_ID)
    if ctype == 2:
        style = comp.get("style")
        if style not in range(1, 7):
            errors.add((*here, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
        if comp.get("label") is not None:
            errors.length((*here, "label"), comp["label"], 0, MAX_BUTTON_LABEL)
        if style == 5:
            if not comp.get("url"):
                errors.add((*here, "url"), "BASE_TYPE_REQUIRED", "This field is required")
            if comp.get("custom_id") is not None:
                errors.add(
                    (*here, "custom_id"),
                    "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                    "A custom id cannot be specified for a link button",
                )
        elif style in (1, 2, 3, 4) and not comp.get("custom_id"):
            errors.add((*here, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
        if style in (1, 2, 3, 4, 5) and not comp.get("label") and not comp.get("emoji"):
            errors.add((*here, "label"), "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED", "A label or emoji is required")
    elif ctype in SELECT_TYPES:
        if not comp.get("custom_id"):
            errors.add((*here, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
        if comp.get("placeholder") is not None:
            errors.length((*here, "placeholder"), comp["placeholder"], 0, 150)
        if ctype == 3:
            options = comp.get("options") or []
            if not 1 <= len(options) <= 25:
                errors.add((*here, "options"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25 in length.")
            for k, option in enumerate(options):
                errors.length((*here, "options", k, "label"), option.get("label"), 1, 100)
                errors.length((*here, "options", k, "value"), option.get("value"), 1, 100)
        low, high = comp.get("min_values", 1), comp.get("max_values", 1)
        if not (0 <= low <= 25 and 1 <= high <= 25 and low <= high):
            errors.add((*here, "max_values"), "BASE_TYPE_BAD_INT", "min_values/max_values out of range")
    else:
        errors.add((*here, "type"), "UNION_TYPE_CHOICES", f"Component type {ctype!r} is not allowed in an action row")


MENTION_TYPES = ("roles", "users", "everyone")


def _validate_allowed_mentions(errors: FormErrors, mentions: Any) -> None:
    """``allowed_mentions`` as the spec's MessageAllowedMentionsRequest has it.

    ``users`` and ``roles`` hold at most 100 unique ids, ``parse`` unique known types, and
    ``parse`` naming a type is mutually exclusive with a non-empty list of that type (the docs'
    documented validation error; an empty or null list is fine).
    """
    if not isinstance(mentions, Mapping):
        return
    parse = mentions.get("parse") or []
    for name in ("parse", "users", "roles"):
        items = mentions.get(name) or []
        keys = [str(item) for item in items]
        if len(set(keys)) != len(keys):
            errors.add(("allowed_mentions", name), "ARRAY_ITEM_VALUE_ALREADY_EXISTS", "The items must be unique.")
        if name != "parse" and len(keys) > 100:
            errors.add(("allowed_mentions", name), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    for kind in parse:
        if kind not in MENTION_TYPES:
            errors.add(("allowed_mentions", "parse"), "BASE_TYPE_CHOICES", f"Value must be one of {MENTION_TYPES}.")
        elif kind != "everyone" and mentions.get(kind):
            errors.add(
                ("allowed_mentions",),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )


def validate_message(
    payload: Mapping[str, Any],
    files: Sequence[FilePart],
    *,
    size_limit: int,
    creating: bool,
    keeps_content: bool = False,
) -> None:
    """Check a create/edit message body like Discord (content, embeds, components, files).

    Raises 413/40005 for an oversized file, 400/50006 for an empty new message, 400/50035 otherwise.
    ``keeps_content`` tells the empty check that the message already has visible content (edits).
    """
    for part in files:
        if len(part.data) > size_limit:
            raise DiscordHTTPError(413, 40005, "Request entity too large", violation="entity_too_large")
    errors = FormErrors()
    content = payload.get("content")
    if content is not None:
        errors.length(("content",), content, 0, MAX_CONTENT)
    if payload.get("embeds") is not None:
        _validate_embeds(errors, payload["embeds"])
    flags = payload.get("flags") or 0
    if payload.get("components") is not None:
        _validate_components(errors, payload["components"], bool(flags & MessageFlags.IS_COMPONENTS_V2))
    attachments = payload.get("attachments")
    if (attachments is not None and len(attachments) > MAX_ATTACHMENTS) or len(files) > MAX_ATTACHMENTS:
        errors.add(("attachments",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ATTACHMENTS} or fewer in length.")
    _validate_allowed_mentions(errors, payload.get("allowed_mentions"))
    nonce = payload.get("nonce")
    if isinstance(nonce, str) and len(nonce) > 25:
        errors.add(("nonce",), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    errors.raise_if_any()
    if creating and not keeps_content:
        has_content = isinstance(content, str) and content.strip() != ""
        has_other = bool(
            payload.get("embeds")
            or files
            or attachments
            or payload.get("components")
            or payload.get("sticker_ids")
            or payload.get("poll")
        )
        if not has_content and not has_other:
            raise DiscordHTTPError(400, 50006, "Cannot send an empty message", violation="empty_message")
