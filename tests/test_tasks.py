"""Request validation and the task state machine."""

from __future__ import annotations

import pytest

from bot.errors import InvalidRequest
from bot.i18n import texts
from bot.lifecycle.model import TERMINAL, TRANSITIONS, ImagineRequest, TaskStatus, can_move, validate_request
from bot.lifecycle.ports import describe_failure


def req(**overrides: object) -> ImagineRequest:
    values: dict[str, object] = {"guild_id": 1, "channel_id": 2, "member_id": 3, "prompt": "a fox"}
    values.update(overrides)
    return ImagineRequest(**values)  # type: ignore[arg-type]


def test_valid_request_is_normalised() -> None:
    clean = validate_request(
        req(prompt="  a fox  ", negative_prompt="   ", count=4, aspect_ratio="9:16", resolution="4k")
    )
    assert clean.prompt == "a fox"
    assert clean.negative_prompt is None
    assert clean.count == 4


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"prompt": "   "}, "empty"),
        ({"prompt": "x" * 2001}, "2,001 characters long; the limit is 2,000"),
        ({"negative_prompt": "x" * 1001}, "limit is 1,000"),
        ({"count": 0}, "1 to 4"),
        ({"count": 5}, "1 to 4"),
        ({"aspect_ratio": "1:1"}, "16:9, 9:16"),
        ({"resolution": "8k"}, "1k, 2k, 4k"),
        ({"reference_urls": ("ftp://x/y.png",)}, "could not be read"),
        ({"reference_urls": tuple(f"https://x/{i}.png" for i in range(10))}, "at most 9"),
    ],
)
def test_invalid_requests_say_why(overrides: dict[str, object], expected: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_request(req(**overrides))
    assert expected in caught.value.user_message


def test_exact_limits_are_accepted() -> None:
    validate_request(req(prompt="x" * 2000, negative_prompt="y" * 1000, count=1))


def test_terminal_states_have_no_way_out() -> None:
    for status in TERMINAL:
        assert status not in TRANSITIONS
        assert not any(can_move(status, other) for other in TaskStatus)
    assert can_move(TaskStatus.QUEUED, TaskStatus.SUBMITTING)
    assert can_move(TaskStatus.SUBMITTING, TaskStatus.QUEUED)  # only when EggAPI created nothing (429)
    assert not can_move(TaskStatus.RUNNING, TaskStatus.QUEUED)  # never resubmit blindly
    assert not can_move(TaskStatus.UNKNOWN, TaskStatus.QUEUED)


@pytest.mark.parametrize(
    ("upstream", "expected"),
    [
        ("Content moderation: prompt contains prohibited content", "content filter"),
        ("insufficient balance", "only the bot's owner can top it up"),
        ("provider timed out after 60s", "timed out"),
        ("Key: 'x' Error:Field validation", "could not finish this job"),
        (None, "could not finish this job"),
    ],
)
def test_failures_are_described_without_raw_text(upstream: str | None, expected: str) -> None:
    text = texts(None).render(describe_failure(upstream))  # as an English member reads it
    assert expected in text and "EggAPI" not in text  # members know it as "the image service"
    if upstream:
        assert upstream not in text
