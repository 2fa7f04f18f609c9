"""The buttons and forms under a result stay within Discord's limits in every shipped language,
whatever the job's id, image count and resolution (the fake Discord would refuse them otherwise)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n import LANGUAGES, texts
from bot.lifecycle.model import PROMPT_MAX, TaskRecord, TaskStatus
from cogs.imagine._actions import image_actions, prompt_modal
from cogs.imagine._views import result_view
from testkit.fake_discord.modals import validate_modal
from testkit.fake_discord.validation import MAX_ACTION_ROWS, MAX_BUTTON_LABEL, MAX_CUSTOM_ID, MAX_ROW_ITEMS

BIG_ID = 10**15  # far more jobs than any server will ever run
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def job(images: int, resolution: str | None, locale: str) -> TaskRecord:
    return TaskRecord(
        id=BIG_ID,
        guild_id=1,
        channel_id=2,
        member_id=3,
        prompt="x" * PROMPT_MAX,
        negative_prompt="y" * 1000,
        aspect_ratio=None,
        count=images,
        resolution=resolution,
        reference_urls=(),
        status=TaskStatus.DELIVERED,
        egg_task_id="gen_1",
        upstream_status="completed",
        cost=None,
        error=None,
        output_urls=tuple(f"https://files.example/{n}.png" for n in range(images)),
        status_message_id=None,
        result_message_ids=(4,),
        created_at=NOW,
        updated_at=NOW,
        submitted_at=NOW,
        finished_at=NOW,
        delivered_at=NOW,
        locale=locale,
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("images", [1, 2, 4])
@pytest.mark.parametrize("resolution", [None, "2k", "4k"])
async def test_result_buttons_fit_discords_rows_ids_and_labels(
    language: str, images: int, resolution: str | None
) -> None:
    task = job(images, resolution, language)
    for rows in (
        result_view(task).to_components(),
        [{"components": [i.to_component_dict() for i in image_actions(task, images, language, row=0)]}],
    ):
        assert len(rows) <= MAX_ACTION_ROWS
        for row in rows:
            assert 1 <= len(row["components"]) <= MAX_ROW_ITEMS
            for button in row["components"]:
                assert len(button["custom_id"]) <= MAX_CUSTOM_ID and len(button["label"]) <= MAX_BUTTON_LABEL
    custom_ids = [b["custom_id"] for row in result_view(task).to_components() for b in row["components"]]
    assert len(custom_ids) == len(set(custom_ids))


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_forms_fit_discords_modal_limits_untruncated(language: str) -> None:
    say = texts(language)
    titles = [say("results.edit_title", job=10**9, image=4), say("results.remix_title", job=10**9)]
    assert all(len(title) <= 45 for title in titles), titles
    labels = [say("results.prompt_label"), say("results.negative_label")]
    assert all(len(label) <= 45 for label in labels), labels
    hints = [say("results.edit_prompt_hint", image=4), say("results.remix_prompt_hint"), say("results.negative_hint")]
    assert all(len(hint) <= 100 for hint in hints), hints
    modal = prompt_modal(
        say,
        f"egg:remixm:{BIG_ID}",
        say("results.remix_title", job=BIG_ID),
        prompt=(hints[1], "x" * PROMPT_MAX),
        negative=(hints[2], "y" * 1000),
    )
    validate_modal(modal.to_dict())  # raises Discord's 400 if anything is out of bounds
