"""Writing files so that a crash, a full disk or a second writer never leaves a half-written one.

Each write goes to a unique temporary file beside the target, which is then renamed over it
(a rename within one folder is atomic): readers see the old file or the new one, never a part.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["replace_atomically", "write_text_atomically"]


def replace_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a unique temporary path beside `path`, then rename it over `path`.

    If `write` raises, the temporary file is removed and `path` is left as it was.
    Returns `path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; return `path`."""
    return replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
