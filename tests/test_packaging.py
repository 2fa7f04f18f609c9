"""The image's install, done offline: build the wheel from exactly what the Dockerfile copies.

No Docker daemon is needed: the files the Dockerfile COPYs are copied into a folder, and pip builds
the wheel there with the project's build backend (no index, no network). The wheel must carry
every package, the migrations and the playground's page, or the image would start broken.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def copied_sources() -> list[str]:
    """The repository paths the Dockerfile's COPY lines take into the image."""
    sources: list[str] = []
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("COPY "):
            sources += line.split()[1:-1]
    return sources


def test_the_image_installs_pinned_versions_like_the_scripts() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"RUN pip install -c constraints\.txt \.", text)
    assert "constraints.txt" in copied_sources()
    assert "-c constraints.txt" in (ROOT / "scripts" / "run").read_text(encoding="utf-8")


def test_the_wheel_built_from_the_image_sources_carries_everything(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in copied_sources():
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, source / name)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(tmp_path / "out"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "out").glob("eggbot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_modules = {
        path.relative_to(ROOT).as_posix()
        for top in ("bot", "cogs", "testkit")
        for path in (ROOT / top).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert shipped_modules <= names
    migrations = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bot").rglob("migrations/*.sql")}
    assert migrations and migrations <= names
    page = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bot" / "playground").rglob("static/*")}
    assert "bot/playground/static/index.html" in page and page <= names
    catalogues = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bot" / "i18n").rglob("catalogues/*.toml")}
    assert "bot/i18n/catalogues/en.toml" in catalogues and catalogues <= names
