"""Safe text: CSV cells, file names, Markdown and chart labels."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from placekit.safe_text import (
    RepeatedKeyError,
    escape_markdown,
    escape_mathtext,
    first_control_character,
    loads_json_unique,
    name_case,
    neutralise_cell,
    neutralise_frame,
    restore_cell,
    safe_filename,
)


@pytest.mark.parametrize(
    ("value", "written"),
    [("=1+1", "'=1+1"), ("+44 161", "'+44 161"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
     ("-5", "-5"), ("+1.5e3", "+1.5e3"), ("plain", "plain"), ("'=x", "''=x"), (7, 7), (-2.5, -2.5)],
)  # fmt: skip
def test_neutralise_cell(value, written):
    assert neutralise_cell(value) == written
    assert restore_cell(written) == value


@settings(deadline=None)
@given(st.text(max_size=12))
def test_neutralise_round_trips_any_text(text):
    out = neutralise_cell(text)
    assert restore_cell(out) == text
    assert not (out[:1] in ("=", "+", "-", "@", "\t", "\r") and out != text)


def test_neutralise_frame_leaves_numbers():
    df = pd.DataFrame({"name": ["=a", "b"], "n": [-1, 2], "share": [-0.5, 0.1]})
    out = neutralise_frame(df)
    assert list(out["name"]) == ["'=a", "b"] and out["n"].tolist() == [-1, 2] and out["share"].tolist() == [-0.5, 0.1]


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b\\c.csv", "CON", "   ", "$x$.pdf", "é" * 300 + ".html", ".hidden"])
def test_safe_filename(name):
    out = safe_filename(name)
    assert out and "/" not in out and "\\" not in out and not out.startswith(".") and len(out) <= 80
    assert out.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL"}


@settings(deadline=None)
@given(st.text(max_size=40))
@example("\t0")  # a leading tab (found by Hypothesis in CI) or four spaces start an indented code block
@example("    0")
@example("a\n\n    b")
def test_escaped_markdown_renders_no_markup(text):
    html = MarkdownIt("commonmark").render(escape_markdown(text))
    for tag in ("<a ", "<em>", "<strong>", "<h1>", "<h2>", "<code>", "<ul>", "<ol>", "<img", "<blockquote>", "<hr"):
        assert tag not in html


def test_escape_mathtext():
    assert escape_mathtext("$x^2$ costs $5") == r"\$x^2\$ costs \$5"
    assert escape_mathtext(r"already \$") == r"already \$"


def test_first_control_character_names_the_line():
    assert first_control_character("a,b\r\nc\td\n") is None  # tab, CR and LF are text
    assert first_control_character("a\nb\nc\x00") == (3, "U+0000 (NUL)")
    assert first_control_character("x\x1b[0m") == (1, "U+001B (ESC)")
    assert first_control_character("\n\x85")[1] == "U+0085 (a control character)"
    assert first_control_character("Café — naïve") is None


@settings(deadline=None)
@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
    )
)
def test_loads_json_unique_reads_what_json_reads(doc):
    assert loads_json_unique(json.dumps(doc)) == doc


def test_loads_json_unique_refuses_a_repeated_key_at_any_level():
    with pytest.raises(RepeatedKeyError) as top:
        loads_json_unique('{"a": 1,\n "a": 2}')
    assert (top.value.key, top.value.line) == ("a", 1)
    with pytest.raises(RepeatedKeyError) as deep:
        loads_json_unique('{"n": [\n {"x": 1},\n {"y": {"k": 1, "k": 1}}]}')
    assert (deep.value.key, deep.value.line) == ("k", 3)
    assert loads_json_unique('{"k": {"k": 1}, "j": [{"k": 2}, {"k": 3}]}') == {"k": {"k": 1}, "j": [{"k": 2}, {"k": 3}]}


def test_name_case_capitalises_words_not_letters_after_an_apostrophe():
    assert name_case("GUY'S AND ST THOMAS' NHS FOUNDATION TRUST") == "Guy's And St Thomas' NHS Foundation Trust"
    assert name_case("ST GEORGE'S MEDICAL CENTRE") == "St George's Medical Centre"
    assert name_case("NORTH-WEST (GP) PCN") == "North-West (GP) PCN"
    assert name_case("DIDSBURY MEDICAL CENTRE - DR WHITAKER") == "Didsbury Medical Centre - Dr Whitaker"
