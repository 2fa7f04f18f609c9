"""The layout's rules, checked: only the Discord side imports discord; private modules stay private;
one module writes a task's status.

Read from the source (an AST walk of every module), so a rule broken anywhere fails here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "cogs", "bench")  # the code that ships or measures it; tests may reach inside
DISCORD_SIDE = ("bot/app/",)  # the one place under bot/ where discord may be imported
STATUS_WRITER = "bot/lifecycle/transitions.py"


def modules(*tops: str) -> Iterator[Path]:
    for top in tops:
        yield from sorted((ROOT / top).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted module) for every import in the file, ``from x import y`` giving ``x.y`` too."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def package_of(path: Path) -> str:
    """The dotted package a module belongs to."""
    return ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])


def test_only_the_discord_side_of_bot_imports_discord() -> None:
    offenders = [
        f"{relative(path)}:{line} imports {name}"
        for path in modules("bot")
        if not relative(path).startswith(DISCORD_SIDE)
        for line, name in imported(path)
        if name == "discord" or name.startswith("discord.")
    ]
    assert offenders == []


def test_private_modules_are_imported_only_inside_their_package() -> None:
    offenders = []
    for path in modules(*PRODUCT):
        here = package_of(path)
        for line, name in imported(path):
            parts = name.split(".")
            for depth, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__"):
                    owner = ".".join(parts[:depth])
                    if here != owner and not here.startswith(owner + "."):
                        offenders.append(f"{relative(path)}:{line} imports {name}")
                    break
    assert offenders == []


def test_one_module_writes_task_status() -> None:
    writers = set()
    for path in modules("bot", "cogs"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("transition", "transition_in"):
                    writers.add(relative(path))
    storage = {relative(p) for p in modules("bot") if "store" in p.name or "/storage/" in relative(p)}
    assert writers - storage == {STATUS_WRITER}


def test_the_rules_see_a_violation() -> None:
    """The checks above would notice: the AST walk finds imports in a file that has them."""
    found = dict((name, line) for line, name in imported(ROOT / "bot" / "app" / "client.py"))
    assert "discord" in found and "bot.app.tree.EggTree" in found
