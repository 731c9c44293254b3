"""The bad-input catalogue's machinery: a case, how its outcome is judged, and how its inputs are built.

A case builds one bad (or tricky but valid) input in a temporary folder, hands it to
placekit the way a user would, and says what must happen: a typed error whose message
holds some key words, or an accept whose result is checked. :func:`judge` sorts every
outcome into one of five kinds; only "clear error" and "correct accept" pass.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo.manifest import default_manifest_path
from placekit.cli.main import main as placekit_main
from placekit.errors import PlacekitError

CLEAR = "clear error"
ACCEPT = "correct accept"
UNCLEAR = "unclear error"  # a placekit error, but of the wrong type or without the key words
TRACEBACK = "traceback"  # anything that is not a PlacekitError: a crash a user would see
SILENT = "silent accept"  # accepted an input that should be refused, or accepted with wrong figures
OUTCOMES = (CLEAR, ACCEPT, UNCLEAR, TRACEBACK, SILENT)


@dataclass(frozen=True)
class Case:
    """One input and what placekit must do with it.

    Attributes
    ----------
    id
        Short unique name (``population/fraction``).
    group
        Class of input: grouping, layers, registrations, manifest, place, store, uploads,
        network, siting, cli, exports.
    run
        Builds the input in the folder it is given and runs placekit on it; returns the result.
    expect
        The exception type that must be raised, or None when the input must be accepted.
    words
        Key words the error message must hold (case-insensitive).
    check
        For accepts: returns True when the result is right (figures unchanged, note given).
    realdata
        Needs the data root (``PLACEKIT_DATA``).
    xfail
        Reason the case is expected to fail on this branch (fixed on another branch).
    """

    id: str
    group: str
    run: Callable[[Path], Any]
    expect: type[BaseException] | None
    words: tuple[str, ...] = ()
    check: Callable[[Any], bool] | None = None
    realdata: bool = False
    xfail: str | None = None
    notes: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """What happened: the kind (one of :data:`OUTCOMES`) and the detail (exception and message, or the result)."""

    kind: str
    detail: str


def judge(case: Case, tmp: Path) -> Outcome:
    """Run `case` in `tmp` and say what kind of outcome it had."""
    try:
        result = case.run(tmp)
    except PlacekitError as exc:
        msg = str(exc)
        if case.expect is None:
            return Outcome(UNCLEAR, f"refused an input that should be accepted: {type(exc).__name__}: {msg[:300]}")
        missing = [w for w in case.words if w.lower() not in msg.lower()]
        if not isinstance(exc, case.expect) or missing:
            return Outcome(UNCLEAR, f"{type(exc).__name__} (expected {case.expect.__name__}); missing words {missing}: {msg[:300]}")
        return Outcome(CLEAR, f"{type(exc).__name__}: {msg[:300]}")
    except Exception as exc:  # the point of the suite: any other exception is a traceback a user would see
        return Outcome(TRACEBACK, f"{type(exc).__name__}: {str(exc)[:300]}")
    if case.expect is not None:
        return Outcome(SILENT, f"accepted; expected {case.expect.__name__}: {str(result)[:300]}")
    if case.check is not None and not case.check(result):
        return Outcome(SILENT, f"accepted with a wrong result: {str(result)[:300]}")
    return Outcome(ACCEPT, str(result)[:300])


# --------------------------------------------------------------------------- building inputs
def real_root() -> Path | None:
    """Return the data root of ``PLACEKIT_DATA``, or None."""
    value = os.environ.get("PLACEKIT_DATA")
    return Path(value) if value else None


Change = bytes | str | Callable[[Path, Path], None] | None


def data_root_with(tmp: Path, changes: dict[str, Change]) -> Path:
    """Return a data root in `tmp` that links every real file except those in `changes`.

    Each change is the new content (bytes or text), a function ``(real file, new file)``
    that writes the new file, ``None`` to leave the file out, or ``"<DIR>"`` to put a
    folder in its place. The real data folder is only read.
    """
    src = real_root()
    root = tmp / "data"
    root.mkdir()
    touched = {Path(k).parts[0] for k in changes}
    for d in src.iterdir():
        if d.name not in touched:
            (root / d.name).symlink_to(d)
            continue
        (root / d.name).mkdir()
        for f in d.iterdir():
            rel = f"{d.name}/{f.name}"
            if rel not in changes:
                (root / rel).symlink_to(f)
        for rel, change in changes.items():
            if Path(rel).parts[0] != d.name:
                continue
            dst = root / rel
            if change is None:
                continue
            if change == "<DIR>":
                dst.mkdir()
            elif isinstance(change, bytes):
                dst.write_bytes(change)
            elif isinstance(change, str):
                dst.write_text(change, encoding="utf-8")
            else:
                change(src / rel, dst)
    return root


def copy_to(tmp: Path, rel: str, edit: Callable[[bytes], bytes] | None = None, *, name: str | None = None) -> Path:
    """Copy one real file into `tmp` (optionally changed by `edit`, bytes → bytes) and return the copy."""
    src = real_root() / rel
    dst = tmp / (name or Path(rel).name)
    data = src.read_bytes()
    dst.write_bytes(edit(data) if edit else data)
    return dst


def manifest_with(tmp: Path, replace: Iterable[tuple[str, str]] = (), append: str = "") -> Path:
    """Write the shipped Manchester manifest into `tmp` with text replacements and an appended block; return its path."""
    text = default_manifest_path().read_text(encoding="utf-8")
    for old, new in replace:
        if old not in text:
            raise AssertionError(f"manifest has no {old!r}")
        text = text.replace(old, new)
    path = tmp / "place.toml"
    path.write_text(text + append, encoding="utf-8")
    return path


def cli(args: list[str]) -> tuple[int, str, str]:
    """Run ``placekit ARGS`` in this process; return (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = placekit_main(args)
        except SystemExit as exc:  # argparse refusals
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


class CliRefused(PlacekitError):
    """The command ended with exit status 1 or 2 and a ``placekit: error:`` line (a clear refusal)."""


class CliCrashed(RuntimeError):
    """The command ended with an internal error or printed a traceback."""


def cli_run(args: list[str], *, want: int = 0) -> str:
    """Run ``placekit ARGS``; return stdout on status `want`, else raise a refusal or a crash with stderr."""
    code, out, err = cli(args)
    if "Traceback" in err or code == 3 or code not in (0, 1, 2):
        raise CliCrashed(f"exit {code}: {err[-500:]}")
    if code != want:
        raise CliRefused(f"exit {code}: {err[-3000:]}")
    return out + err


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def demo_env():
    """Run with no data root (the embedded demo place), restoring ``PLACEKIT_DATA`` afterwards."""
    old = os.environ.pop("PLACEKIT_DATA", None)
    try:
        yield
    finally:
        if old is not None:
            os.environ["PLACEKIT_DATA"] = old


def put(path: Path, content: bytes | str | None) -> Path:
    """Write `content` at `path` (bytes, or UTF-8 text); None makes a folder there instead. Return `path`."""
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path
