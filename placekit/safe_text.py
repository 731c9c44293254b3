"""Make user text safe where it leaves placekit: CSV cells, file names, Markdown and chart labels.

Names of neighbourhoods, localities, scenarios and wards are typed by users. Written as
they are they can be a spreadsheet formula (``=HYPERLINK(...)``), a Markdown link, a
matplotlib math expression (``$x$``) or a path (``../../x``). Every writer calls these
functions; they are pure and sit in the lowest layer so any layer can.
"""

from __future__ import annotations

import html
import json
import json.decoder
import json.scanner
import re
import unicodedata
from typing import Any

import pandas as pd

__all__ = [
    "FORMULA_TRIGGERS",
    "needs_neutralising",
    "neutralise_cell",
    "restore_cell",
    "neutralise_frame",
    "safe_filename",
    "escape_markdown",
    "escape_mathtext",
    "first_control_character",
    "RepeatedKeyError",
    "loads_json_unique",
    "name_case",
]

#: First characters that make a spreadsheet read a text cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:=^])")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def needs_neutralising(value: Any) -> bool:
    """Return True when `value` is text a spreadsheet would run as a formula (or text that looks neutralised already).

    Numbers, and text that is only a number (``"-5"``, ``"+1.5e3"``), are left alone.
    """
    if not isinstance(value, str) or not value or _NUMBER.match(value):
        return False
    if value[0] in FORMULA_TRIGGERS:
        return True
    return value[0] == "'" and needs_neutralising(value[1:])


def neutralise_cell(value: Any) -> Any:
    """Return `value` prefixed with ``'`` when a spreadsheet would read it as a formula; other values unchanged.

    The prefix is the convention spreadsheets show as text. :func:`restore_cell` undoes it
    exactly, so a file written and read back by placekit keeps every name.
    """
    return "'" + value if needs_neutralising(value) else value


def restore_cell(value: Any) -> Any:
    """Undo :func:`neutralise_cell` (for readers of files placekit wrote)."""
    if isinstance(value, str) and value.startswith("'") and needs_neutralising(value[1:]):
        return value[1:]
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of `df` whose text cells (and column names) are neutralised for CSV; numbers are untouched."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            out[col] = s.map(neutralise_cell)
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def safe_filename(name: Any, *, default: str = "download", max_length: int = 80) -> str:
    """Return `name` as a file name safe on every system: letters, digits, space, ``._-``; no path, no leading dot.

    Parameters
    ----------
    name
        User text (a neighbourhood or scenario name), possibly with an extension.
    default
        Used when nothing safe is left.
    max_length
        Longest name returned (the extension is kept).
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    stem, _, ext = text.rpartition(".")
    if not stem.strip(" ._-") or not re.fullmatch(r"[A-Za-z0-9]{1,10}", ext):
        stem, ext = text, ""
    stem = re.sub(r"\.{2,}", ".", _UNSAFE_NAME.sub("_", stem)).strip(" ._-")
    stem = re.sub(r"_+", "_", stem)[: max(1, max_length - len(ext) - 1)].strip(" ._-")
    if not stem or stem.upper() in _WINDOWS_RESERVED:
        stem = f"{default}_{stem}" if stem else default
    return f"{stem}.{ext}" if ext else stem


def escape_markdown(text: Any) -> str:
    """Return `text` safe inside Markdown: control characters backslash-escaped, HTML escaped, whitespace runs made one space.

    Covers links and images (``[]()``), emphasis, headings, lists, quotes, tables, code,
    raw HTML (``<img ...>``) and Streamlit's extensions: ``$`` (LaTeX) and ``:``
    (``:red[...]`` colours, icons). Backslash escapes come first and HTML entities
    after, so neither undoes the other.
    """
    # Every run of whitespace becomes one space, and none leads: a leading tab or four spaces would start a code block.
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return html.escape(_MARKDOWN.sub(r"\\\1", flat))


def escape_mathtext(text: Any) -> str:
    """Return `text` with ``$`` escaped so matplotlib draws it as typed instead of parsing math."""
    return str(text).replace("\\$", "$").replace("$", r"\$")


# --------------------------------------------------------------------------- reading user files strictly
# C0 controls but tab, line feed and carriage return; DEL; C1 controls. None belongs in a grouping, an
# estates file or a scenario export: they come from binary files or text damaged in transfer.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {0x00: "NUL", 0x07: "BEL", 0x08: "backspace", 0x0B: "vertical tab", 0x0C: "form feed", 0x1A: "SUB (end of file)",
                  0x1B: "ESC", 0x7F: "DEL"}  # fmt: skip


def first_control_character(text: str) -> tuple[int, str] | None:
    """Return ``(line number, description)`` of the first control character of `text`, or None when it has none.

    Tab, line feed and carriage return are allowed; every other C0 control, DEL and the C1
    controls are not. The description reads like ``U+0000 (NUL)``.
    """
    m = _CONTROL.search(text)
    if m is None:
        return None
    code = ord(m.group())
    name = _CONTROL_NAMES.get(code, "a control character")
    return text.count("\n", 0, m.start()) + 1, f"U+{code:04X} ({name})"


class RepeatedKeyError(ValueError):
    """A JSON object names one key twice (``json.loads`` would keep the last and drop the first without a word).

    Attributes
    ----------
    key
        The repeated key.
    line
        The line on which the object holding it starts (None when it cannot be told).
    """

    def __init__(self, key: str, line: int | None = None) -> None:
        super().__init__(f"the key {key!r} appears twice in one object" + (f" (the object starting on line {line})" if line else ""))
        self.key = key
        self.line = line


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise RepeatedKeyError(key)
        out[key] = value
    return out


class _Found(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _line_of_repeat(text: str) -> int | None:
    """Return the line where the first object with a repeated key starts (parsed again, in pure Python, on this error path only)."""
    decoder = json.JSONDecoder()

    def parse_object(s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo=None, *args):  # noqa: ANN001, ANN202
        s, end = s_and_end

        def hook(pairs: list[tuple[str, Any]]) -> dict:
            try:
                return _unique_pairs(pairs)
            except RepeatedKeyError:
                raise _Found(s.count("\n", 0, end) + 1) from None

        return json.decoder.JSONObject(s_and_end, strict, scan_once, None, hook, memo, *args)

    decoder.parse_object = parse_object
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    try:
        decoder.decode(text)
    except _Found as found:
        return found.line
    except (ValueError, RecursionError):
        return None
    return None


def loads_json_unique(text: str) -> Any:
    """Parse JSON `text` as :func:`json.loads` does, but refuse an object that names a key twice.

    Raises
    ------
    RepeatedKeyError
        Naming the key and the line where its object starts.
    json.JSONDecodeError, RecursionError
        As :func:`json.loads`.
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except RepeatedKeyError as exc:
        raise RepeatedKeyError(exc.key, _line_of_repeat(text)) from None


#: Words kept in capitals when an upper-case register name is put in title case.
_ACRONYMS = frozenset({"NHS", "GP", "GPS", "PCN", "ICB", "CCG", "UK", "HMP", "CIC", "LLP", "MC"})
_WORD = re.compile(r"[^\s\-/(&]+")


def name_case(text: str) -> str:
    """Return an upper-case register name (ODS, CQC) in title case for display.

    Words start a capital only after a space, hyphen, slash, bracket or ampersand, so an
    apostrophe does not (``GUY'S AND ST THOMAS'`` gives ``Guy's And St Thomas'``, where
    ``str.title`` gives ``Guy'S``); acronyms such as NHS, GP and PCN stay in capitals.
    """
    def word(m: re.Match) -> str:
        w = m.group(0)
        return w.upper() if w.upper().strip(".,;:')") in _ACRONYMS else w[:1].upper() + w[1:].lower()

    return _WORD.sub(word, str(text))
