"""A tiny progress bar on stderr (no dependency): redrawn in place on a terminal, a few lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``start(label, total)``, then ``update(done)`` / ``advance(n)``, then ``finish(note)``."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True, width: int = 28) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.label = ""
        self.total = 1
        self.done = 0
        self.started = 0.0
        self._drawn = 0.0
        self._quarter = -1
        self.run_started = time.monotonic()

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(1, total), 0
        self.started = time.monotonic()
        self._drawn, self._quarter = 0.0, -1
        self._draw(force=True)

    def update(self, done: int) -> None:
        if done != self.done:
            self.done = min(done, self.total)
            self._draw()

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    def note(self, text: str) -> None:
        """A line of its own (kept above the bar on a terminal)."""
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r\x1b[2K")
        self.stream.write(text + "\n")
        self.stream.flush()
        self._draw(force=True)

    def finish(self, note: str = "") -> None:
        self.done = self.total
        self._draw(force=True, final=True, note=note)

    def _draw(self, *, force: bool = False, final: bool = False, note: str = "") -> None:
        if not self.enabled or not self.label:
            return
        now = time.monotonic()
        fraction = self.done / self.total
        if self.tty:
            if not force and now - self._drawn < 0.1:
                return
            self._drawn = now
            filled = int(self.width * fraction)
            bar = "#" * filled + "-" * (self.width - filled)
            line = (
                f"{self.label:<22} |{bar}| {self.done}/{self.total} "
                f"{now - self.started:6.1f}s (total {now - self.run_started:5.0f}s) {note}"
            )
            self.stream.write("\r\x1b[2K" + line + ("\n" if final else ""))
        else:
            quarter = int(fraction * 4)
            if not final and not force and quarter == self._quarter:
                return
            self._quarter = quarter
            self.stream.write(
                f"[bench] {self.label}: {self.done}/{self.total} after {now - self.started:.1f}s"
                f"{' - ' + note if note else ''}\n"
            )
        self.stream.flush()
