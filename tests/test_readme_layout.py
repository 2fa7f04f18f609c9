"""The README's layout is the tree: every path it names exists, and every package and public module is named."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTED_TREES = ("bot", "cogs", "testkit")  # every package and public module under these is in the list


def layout_paths() -> set[str]:
    """The paths of the README's layout block, rebuilt from its indentation (two spaces a level)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Layout\n.*?```\n(.*?)```", text, re.S)
    assert block is not None, "README.md has a Layout section with a code block"
    paths: set[str] = set()
    parents: list[str] = []
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        del parents[depth:]
        words = line.split()
        names = [words[0]]  # a line may name several files of one folder: "a.py b.py  what they are"
        for word in words[1:]:
            if not word.endswith(".py"):
                break
            names.append(word)
        for name in names:
            paths.add("/".join([*parents, name.rstrip("/")]))
        if names[0].endswith("/"):
            parents.append(names[0].rstrip("/"))
    return paths


def tree_paths() -> set[str]:
    """Every package and every public module (not ``_private``, not ``__init__``) of the listed trees."""
    found: set[str] = set()
    for top in LISTED_TREES:
        found.add(top)
        for path in (ROOT / top).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "__pycache__" in relative.parts or any(p.startswith("_") and p != "__init__.py" for p in relative.parts):
                continue
            if path.name == "__init__.py":
                found.add(relative.parent.as_posix())
            else:
                found.add(relative.as_posix())
    return found


def test_every_path_in_the_readme_layout_exists() -> None:
    missing = sorted(path for path in layout_paths() if not (ROOT / path).exists())
    assert missing == []


def test_every_package_and_public_module_is_in_the_readme_layout() -> None:
    assert sorted(tree_paths() - layout_paths()) == []


def test_the_layout_parser_nests_by_indentation() -> None:
    paths = layout_paths()
    assert {"bot/app/client.py", "bot/lifecycle/tracker.py", "cogs/imagine", "testkit/world.py"} <= paths
