"""The validation rules of ``POST /v1/generate``, worded like EggAPI's Go validator."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def go_error(field_name: str, tag: str) -> str:
    return f"Key: 'GenerateRequest.{field_name}' Error:Field validation for '{field_name}' failed on the '{tag}' tag"


def is_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme) and bool(parts.netloc) and " " not in value


class BadType(Exception):
    """A JSON field of the wrong type (Go: json unmarshal error -> BAD_REQUEST)."""


def validate_generate(body: dict[str, Any]) -> list[str]:
    """Go-validator-style messages for every rule the body breaks (empty list = valid)."""
    errors: list[str] = []

    def get(key: str, kind: type | tuple[type, ...], go_type: str) -> Any:
        value = body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, kind):
            raise BadType(
                f"json: cannot unmarshal {type(value).__name__} into Go struct field "
                f"GenerateRequest.{key} of type {go_type}"
            )
        return value

    model = get("model", str, "string")
    prompt = get("prompt", str, "string")
    negative = get("negative_prompt", str, "string")
    aspect = get("aspect_ratio", str, "string")
    num = get("num_outputs", int, "int")
    resolution = get("resolution", str, "string")
    urls = get("image_urls", list, "[]string")
    webhook = get("webhook_url", str, "string")
    duration = get("duration", int, "int")
    if urls is not None and not all(isinstance(u, str) for u in urls):
        raise BadType("json: cannot unmarshal into Go struct field GenerateRequest.image_urls of type string")

    if not model:
        errors.append(go_error("Model", "required"))
    elif model != "nanobanana":
        errors.append(go_error("Model", "oneof"))
    if not prompt:
        errors.append(go_error("Prompt", "required"))
    elif len(prompt) > 2000:
        errors.append(go_error("Prompt", "max"))
    if negative is not None and len(negative) > 1000:
        errors.append(go_error("NegativePrompt", "max"))
    if aspect is not None and aspect not in ("16:9", "9:16"):
        errors.append(go_error("AspectRatio", "oneof"))
    if num is not None and not 1 <= num <= 4:
        errors.append(go_error("NumOutputs", "min" if num < 1 else "max"))
    if resolution is not None and resolution not in ("1k", "2k", "4k"):
        errors.append(go_error("Resolution", "oneof"))
    if urls is not None:
        if not 1 <= len(urls) <= 9:
            errors.append(go_error("ImageURLs", "min" if not urls else "max"))
        errors += [go_error(f"ImageURLs[{i}]", "url") for i, u in enumerate(urls) if not is_url(u)]
    if webhook is not None:
        if not is_url(webhook):
            errors.append(go_error("WebhookURL", "url"))
        elif len(webhook) > 2048:
            errors.append(go_error("WebhookURL", "max"))
    if duration is not None and not 1 <= duration <= 60:
        errors.append(go_error("Duration", "min" if duration < 1 else "max"))
    return errors
