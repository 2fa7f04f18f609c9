"""Modals: Discord's rules for the MODAL callback (type 9), and the fields a test fills in.

Private helper module of :mod:`testkit.fake_discord`. The rules are the OpenAPI spec's
``ModalInteractionCallbackRequestData``: a custom id of 1-100 characters, a title of 1-45, and 1-5
top-level components (Discord's documented limit; the spec's schema allows more), each an action
row of text inputs (the classic form, whose inputs need a label), a Label (type 18: label 1-45,
description up to 100, one input) or a Text Display (type 10). Text inputs: custom id 1-100, style 1
or 2, label 1-45, value up to 4,000, placeholder up to 100, min_length 0-4,000 and max_length
1-4,000 with min <= max, and a prefilled value within them. Custom ids are unique in the modal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .records import SELECT_TYPES, iter_components
from .validation import FormErrors

MAX_TOP_LEVEL = 5
MAX_TITLE = 45
MAX_LABEL = 45
MAX_DESCRIPTION = 100
MAX_TEXT = 4000
MAX_PLACEHOLDER = 100
LABELLED_TYPES = frozenset({4, 19, 21, 22, 23, *SELECT_TYPES})  # what a Label may hold (inputs, selects, uploads)

Path = tuple[str | int, ...]


def validate_modal(data: Mapping[str, Any]) -> None:
    """Raise Discord's 400/50035 for a modal the real Discord would refuse to open."""
    errors = FormErrors()
    errors.length(("data", "custom_id"), data.get("custom_id"), 1, 100)
    errors.length(("data", "title"), data.get("title"), 1, MAX_TITLE)
    components = data.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= MAX_TOP_LEVEL:
        errors.add(("data", "components"), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_TOP_LEVEL} in length.")
        errors.raise_if_any()
        return
    for i, top in enumerate(components):
        _top_level(errors, ("data", "components", i), top)
    custom_ids = [c["custom_id"] for c in iter_components(components) if c.get("custom_id") is not None]
    if len(custom_ids) != len(set(custom_ids)):
        errors.add(("data", "components"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
    errors.raise_if_any()


def _top_level(errors: FormErrors, here: Path, top: Mapping[str, Any]) -> None:
    kind = top.get("type")
    if kind == 1:
        inputs = top.get("components")
        if not isinstance(inputs, list) or not 1 <= len(inputs) <= 5:
            errors.add((*here, "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
            return
        for j, item in enumerate(inputs):
            if item.get("type") != 4:
                errors.add((*here, "components", j, "type"), "UNION_TYPE_CHOICES", "Value must be one of (4,).")
                continue
            _text_input(errors, (*here, "components", j), item, labelled=False)
    elif kind == 18:
        errors.length((*here, "label"), top.get("label"), 1, MAX_LABEL)
        if top.get("description") is not None:
            errors.length((*here, "description"), top["description"], 1, MAX_DESCRIPTION)
        inner = top.get("component")
        if not isinstance(inner, Mapping) or inner.get("type") not in LABELLED_TYPES:
            errors.add((*here, "component"), "BASE_TYPE_REQUIRED", "A label holds one input, select or upload.")
        elif inner.get("type") == 4:
            _text_input(errors, (*here, "component"), inner, labelled=True)
    elif kind == 10:
        errors.length((*here, "content"), top.get("content"), 1, MAX_TEXT)
    else:
        errors.add((*here, "type"), "UNION_TYPE_CHOICES", "Value must be one of (1, 10, 18).")


def _text_input(errors: FormErrors, here: Path, item: Mapping[str, Any], *, labelled: bool) -> None:
    errors.length((*here, "custom_id"), item.get("custom_id"), 1, 100)
    if item.get("style") not in (1, 2):
        errors.add((*here, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2}.")
    if item.get("label") is not None or not labelled:  # a classic input names itself; in a Label it may not
        errors.length((*here, "label"), item.get("label"), 1, MAX_LABEL)
    if item.get("placeholder") is not None:
        errors.length((*here, "placeholder"), item["placeholder"], 0, MAX_PLACEHOLDER)
    low, high = item.get("min_length"), item.get("max_length")
    if low is not None and not (isinstance(low, int) and 0 <= low <= MAX_TEXT):
        errors.add((*here, "min_length"), "NUMBER_TYPE_MAX", f"int value should be between 0 and {MAX_TEXT}.")
    if high is not None and not (isinstance(high, int) and 1 <= high <= MAX_TEXT):
        errors.add((*here, "max_length"), "NUMBER_TYPE_MAX", f"int value should be between 1 and {MAX_TEXT}.")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        errors.add((*here, "min_length"), "BASE_TYPE_BAD_INT", "min_length must not exceed max_length.")
    value = item.get("value")
    if value is not None:
        errors.length((*here, "value"), value, 0, min(MAX_TEXT, high if isinstance(high, int) else MAX_TEXT))


def modal_fields(modal: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A modal's text inputs by custom id: what the user sees in each (``label``, its Label's
    ``description``, ``value`` prefilled, limits)."""
    fields: dict[str, dict[str, Any]] = {}
    for top in (modal or {}).get("components") or []:
        label = top.get("label") if top.get("type") == 18 else None
        for item in iter_components([top]):
            if item.get("type") == 4:
                shown = dict(item, label=item.get("label") or label)
                if top.get("type") == 18:
                    shown["description"] = top.get("description")
                fields[str(item.get("custom_id"))] = shown
    return fields
