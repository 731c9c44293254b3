"""Make user text safe where it leaves placekit: CSV cells, file names, Markdown and chart labels.

Names of neighbourhoods, localities, scenarios and wards are typed by users. Written as
they are they can be a spreadsheet formula (``=HYPERLINK(...)``), a Markdown link, a
matplotlib math expression (``$x$``) or a path (``../../x``). Every writer calls these
functions; they are pure and sit in the lowest layer so any layer can.
"""

from __future__ import annotations

import html
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
