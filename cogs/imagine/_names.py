"""How the bot names the files of a result: the mark that tells its own result posts, and whose part is whose."""

from __future__ import annotations

import re

IMAGE_NAME = re.compile(r"^eggbot-(?P<task>\d+)-(?P<n>\d+)\.\w+$")


def image_stem(task_id: int, index: int) -> str:
    """The file name (without extension) of a task's output: what identifies the bot's own result posts."""
    return f"eggbot-{task_id}-{index + 1}"


def task_of(filename: str) -> int | None:
    """The task whose output this file is, or None for a file the bot did not name."""
    match = IMAGE_NAME.match(filename)
    return int(match["task"]) if match else None
