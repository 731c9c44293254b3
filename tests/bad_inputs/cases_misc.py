"""Grouping files, road networks, siting parameters, the command line and exports."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt

from boundaries.grouping import Grouping, baseline_grouping, grouping_to_csv, grouping_to_json, read_grouping, write_grouping
from boundaries.profiles import profile
from estates.access import build_access, evaluate_hubs, initial_hubs, site_hubs
from estates.network import graph_from_file
from estates.sites import CandidateFilter
from geo.demo import demo_place
from placekit.errors import (
    DataRootError,
    InvalidGroupingError,
    InvalidParameterError,
    PlacekitError,
    ScenarioFileError,
    UnreadableFileError,
)
from placekit.render.report import profile_pdf
from placekit.safe_text import escape_markdown, neutralise_cell, restore_cell, safe_filename
from tests.bad_inputs.cases_place import PRACTICES, _postcodes_unreadable
from tests.bad_inputs.framework import Case, CliRefused, cli_run, data_root_with, demo_env, put, real_root

REPO = Path(__file__).resolve().parents[2]
WARDS = [f"E0590000{i}" for i in range(1, 7)]
GROUPING = Grouping({w: n for w, n in zip(WARDS, "AABCCB", strict=True)}, {"A": "West", "B": "East", "C": "West"}, name="tiny")
FORMULA = "=cmd|' /C calc'!A0"


# --------------------------------------------------------------------------- grouping files
def _grouping(name: str, content: bytes | str | None) -> Callable[[Path], Grouping]:
    def run(tmp: Path) -> Grouping:
        return read_grouping(put(tmp / name, content), wards=WARDS)

    return run


def _grouping_cases() -> list[Case]:
    good_json, good_csv = grouping_to_json(GROUPING), grouping_to_csv(GROUPING)
    doc = json.loads(good_json)
    g = "grouping"
    return [
        Case("grouping/missing file", g, lambda tmp: read_grouping(tmp / "nope.csv", wards=WARDS), ScenarioFileError, ("does not exist",)),
        Case("grouping/empty file", g, _grouping("g.csv", ""), ScenarioFileError, ("needs columns",)),
        Case(
            "grouping/latin-1 text",
            g,
            _grouping("g.csv", "ward_code,neighbourhood,locality\nE05900001,Café,L\n".encode("latin-1")),
            ScenarioFileError,
            ("UTF-8",),
        ),
        Case("grouping/unsupported suffix", g, _grouping("g.txt", good_csv), ScenarioFileError, ("txt",)),
        Case("grouping/broken JSON", g, _grouping("g.json", good_json[:-20]), ScenarioFileError, ("not valid JSON",)),
        Case(
            "grouping/neighbourhoods is a list",
            g,
            _grouping("g.json", json.dumps({"neighbourhoods": [1]})),
            ScenarioFileError,
            ("neighbourhoods",),
        ),
        Case(
            "grouping/wards is text",
            g,
            _grouping("g.json", json.dumps({"neighbourhoods": {"A": {"locality": "L", "wards": "E05900001"}}})),
            ScenarioFileError,
            ("wards",),
        ),
        Case(
            "grouping/unknown ward",
            g,
            _grouping("g.csv", good_csv.replace("E05900006", "E05999999")),
            InvalidGroupingError,
            ("E05999999", "E05900006"),
        ),
        Case("grouping/ward twice", g, _grouping("g.csv", good_csv + "E05900001,,B,East\n"), InvalidGroupingError, ("E05900001",)),
        Case(
            "grouping/neighbourhood in two localities",
            g,
            _grouping("g.csv", good_csv.replace("E05900006,,B,East", "E05900006,,B,West")),
            InvalidGroupingError,
            ("B",),
        ),
        Case(
            "grouping/with a byte-order mark",
            g,
            _grouping("g.csv", b"\xef\xbb\xbf" + good_csv.encode()),
            None,
            check=lambda r: r == GROUPING,
        ),
        Case("grouping/formula-like names round-trip (JSON)", g, _formula_round_trip, None, check=lambda r: r),
        Case("grouping/formula-like names neutralised in CSV, read back exactly", g, _formula_csv, None, check=lambda r: r),
        Case(
            "grouping/meta is a list",
            g,
            _grouping("g.json", json.dumps({**doc, "meta": [1]})),
            ScenarioFileError,
            ("meta",),
        ),
        Case(
            "grouping/deeply nested JSON",
            g,
            _grouping("g.json", "[" * 100_000 + "]" * 100_000),
            ScenarioFileError,
            ("g.json",),
        ),
        Case(
            "grouping/deeply nested object",
            g,
            _grouping("g.json", '{"neighbourhoods": ' + '{"a":' * 5000 + "1" + "}" * 5001),
            ScenarioFileError,
            ("g.json",),
        ),
        Case("grouping/a folder given as the file", g, _grouping("g.json", None), PlacekitError, ("folder",)),
    ]


def _formula_round_trip(tmp: Path) -> bool:
    g = Grouping(
        {w: (FORMULA if n == "A" else n) for w, n in GROUPING.ward_to_neighbourhood.items()}, {FORMULA: "West", "B": "East", "C": "West"}
    )
    return read_grouping(write_grouping(g, tmp / "g.json"), wards=WARDS) == g


def _formula_csv(tmp: Path) -> bool:
    """The CSV a spreadsheet opens shows the name as text ('=…), and placekit reads the name back unchanged."""
    g = Grouping(
        {w: (FORMULA if n == "A" else n) for w, n in GROUPING.ward_to_neighbourhood.items()}, {FORMULA: "West", "B": "East", "C": "West"}
    )
    path = write_grouping(g, tmp / "g.csv")
    cells = [c for row in csv.reader(path.read_text(encoding="utf-8").splitlines()) for c in row]
    return "'" + FORMULA in cells and FORMULA not in cells and read_grouping(path, wards=WARDS) == g


# --------------------------------------------------------------------------- road networks
OSM = "osm-manchester/stretford_kingsway_junction.osm"


def _network(name: str, content: Callable[[bytes], bytes] | bytes | None) -> Callable[[Path], object]:
    def run(tmp: Path):
        data = content((real_root() / OSM).read_bytes()) if callable(content) else content
        return graph_from_file(put(tmp / name, data), mode="drive")

    return run


def _network_cases() -> list[Case]:
    n = "network"
    return [
        Case("network/missing file", n, lambda tmp: graph_from_file(tmp / "roads.osm"), DataRootError, ("does not exist",)),
        Case("network/empty .osm", n, _network("roads.osm", b""), UnreadableFileError, ("empty",)),
        Case(
            "network/garbage .osm", n, _network("roads.osm", bytes(range(256)) * 20), UnreadableFileError, ("roads.osm", "cannot be read")
        ),
        Case(
            "network/truncated .osm",
            n,
            _network("roads.osm", lambda d: d[: len(d) // 2]),
            UnreadableFileError,
            ("roads.osm",),
            realdata=True,
        ),
        Case(
            "network/XML without roads",
            n,
            _network("roads.osm", b'<?xml version="1.0"?><osm version="0.6"></osm>'),
            UnreadableFileError,
            ("roads.osm",),
        ),
        Case("network/garbage .graphml", n, _network("roads.graphml", b"<graphml><broken"), UnreadableFileError, ("roads.graphml",)),
        Case(
            "network/garbage .osm.pbf",
            n,
            _network("roads.osm.pbf", b"\x00\x00\x00\x0dnot a pbf" * 10),
            UnreadableFileError,
            ("roads.osm.pbf",),
        ),
        Case("network/a folder", n, _network("roads.osm", None), UnreadableFileError, ("folder",)),
        Case("network/a shapefile", n, _network("roads.shp", b"x"), PlacekitError, (".graphml",)),
        Case(
            "network/the real extract",
            n,
            _network("roads.osm", lambda d: d),
            None,
            check=lambda g: g.number_of_nodes() >= 10 and g.number_of_edges() >= 10,
            realdata=True,
        ),
    ]


# --------------------------------------------------------------------------- siting parameters
@cache
def _access():
    place = demo_place()
    return build_access(place, baseline_grouping(place), mode="walk")


def _evaluate(threshold) -> Callable[[Path], object]:
    return lambda tmp: evaluate_hubs(_access(), initial_hubs(_access())[0], threshold=threshold)


def _site(**kw) -> Callable[[Path], object]:
    return lambda tmp: site_hubs(_access(), p=3, one_per_neighbourhood=False, **kw)


def _siting_cases() -> list[Case]:
    s = "siting"
    return [
        Case("siting/threshold inf", s, _evaluate(float("inf")), InvalidParameterError, ("threshold", "inf")),
        Case("siting/threshold nan", s, _evaluate(float("nan")), InvalidParameterError, ("threshold",)),
        Case("siting/threshold -5", s, _evaluate(-5), InvalidParameterError, ("threshold", "-5")),
        Case("siting/threshold 0", s, _evaluate(0), InvalidParameterError, ("threshold",)),
        Case("siting/threshold text", s, _evaluate("fifteen"), InvalidParameterError, ("threshold", "fifteen")),
        Case("siting/threshold 15", s, _evaluate(15), None, check=lambda ev: ev.threshold == 15),
        Case("siting/MCLP threshold inf", s, _site(objective="mclp", threshold=float("inf")), InvalidParameterError, ("threshold",)),
        Case("siting/time limit inf", s, _site(method="exact", time_limit=float("inf")), InvalidParameterError, ("time_limit",)),
        Case("siting/time limit nan", s, _site(method="exact", time_limit=float("nan")), InvalidParameterError, ("time_limit",)),
        Case("siting/unknown objective", s, _site(objective="fastest"), PlacekitError, ("objective",)),
        Case("siting/unknown hub", s, lambda tmp: evaluate_hubs(_access(), ["no-such-site"]), PlacekitError, ("no-such-site",)),
        Case("siting/capacity factor 0", s, _site(capacitated=True, capacity_factor=0), InvalidParameterError, ("capacity_factor",)),
        Case("siting/unknown premises status", s, _site(candidates=CandidateFilter(premises=("vacant",))), PlacekitError, ("vacant",)),
        *_times_cases(),
    ]


def _times(rows: Callable[[pd.DataFrame], str]) -> Callable[[Path], object]:
    """Build access from a times file made from the demo's own modelled times, altered by `rows`."""
    def run(tmp: Path):
        a = _access()
        long = a.od.iloc[:, :5].stack().rename("minutes").rename_axis(["origin", "site"]).reset_index()
        f = tmp / "times.csv"
        f.write_text(rows(long))
        return build_access(a.place, a.grouping, mode="walk", times=f)
    return run


def _times_cases() -> list[Case]:
    s = "times file"
    as_csv = lambda d: d.to_csv(index=False)  # noqa: E731
    return [
        Case("times/as given", s, _times(as_csv), None, check=lambda a: a.od.shape[1] == 5 and not a.modelled),
        Case("times/missing pair", s, _times(lambda d: as_csv(d.iloc[1:])), PlacekitError, ("have no time",)),
        Case("times/negative", s, _times(lambda d: as_csv(d.assign(minutes=d["minutes"].where(d.index != 3, -1)))), PlacekitError,
             ("line 5", "'-1.0'")),
        Case("times/text", s, _times(lambda d: as_csv(d.astype({"minutes": object}).assign(minutes=lambda x: x["minutes"].where(x.index != 0, "n/a")))),
             PlacekitError, ("line 2", "'n/a'")),
        Case("times/unknown site", s, _times(lambda d: as_csv(d.assign(site=d["site"].where(d.index != 0, "nowhere")))), PlacekitError,
             ("nowhere",)),
        Case("times/no minutes column", s, _times(lambda d: as_csv(d.rename(columns={"minutes": "secs"}))), PlacekitError, ("minutes",)),
        Case("times/empty file", s, _times(lambda d: ""), PlacekitError, ("times",)),
    ]


# --------------------------------------------------------------------------- command line
def _demo(args: list[str], *, want: int = 0) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        with demo_env():
            return cli_run(args, want=want)

    return run


def _child(args: list[str], *, data: Path | None = None, **kw) -> subprocess.Popen:
    """Start ``python -m placekit.cli ARGS`` (the console script's path: Ctrl-C is handled from the first import); demo place unless `data`."""
    env = {k: v for k, v in os.environ.items() if k != "PLACEKIT_DATA"} | {"PYTHONPATH": str(REPO)}
    if data is not None:
        env["PLACEKIT_DATA"] = str(data)
    # A shell's background job starts with SIGINT ignored, and children inherit that: restore the default so Ctrl-C reaches it.
    return subprocess.Popen([sys.executable, "-m", "placekit.cli", *args], stderr=subprocess.PIPE, env=env, preexec_fn=_default_sigint, **kw)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _broken_pipe(tmp: Path) -> tuple[int, str]:
    """Run ``placekit profile --format csv`` with its reader gone before it writes (``| head`` that has ended)."""
    proc = _child(["profile", "--format", "csv"], stdout=subprocess.PIPE, cwd=tmp)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=300)
    if "Traceback" in err or "Exception ignored" in err:
        raise RuntimeError(f"a traceback on a closed pipe: {err[-400:]}")
    return code, err


def _interrupted_starting(tmp: Path) -> tuple[int, str]:
    """Send Ctrl-C 0.3 s after starting ``placekit profile``, while it is still importing its modules."""
    proc = _child(["profile"], stdout=subprocess.DEVNULL, cwd=tmp)
    try:
        proc.wait(timeout=0.3)
        raise RuntimeError("placekit profile ended within 0.3 s; nothing was interrupted")
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
    return _ended(proc)


def _interrupted_running(tmp: Path) -> tuple[int, str]:
    """Send Ctrl-C to ``placekit suggest`` on real data the moment it has printed the loader's notes (inside the command)."""
    proc = _child(["suggest", "--top", "100"], data=real_root(), stdout=subprocess.DEVNULL, cwd=tmp)
    first = proc.stderr.readline().decode()
    if not first.startswith(("placekit: note:", "placekit: warning:")):
        raise RuntimeError(f"expected the loader's note first, got {first!r}")
    proc.send_signal(signal.SIGINT)
    code, err = _ended(proc)
    return code, first + err


def _ended(proc: subprocess.Popen) -> tuple[int, str]:
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    if "Traceback" in err:
        raise RuntimeError(f"a traceback on Ctrl-C: {err[-400:]}")
    return code, err


def _profile_csv(tmp: Path) -> list[list[str]]:
    place = demo_place()
    base = baseline_grouping(place)
    first = base.neighbourhoods[0]
    g = Grouping(
        {w: (FORMULA if n == first else n) for w, n in base.ward_to_neighbourhood.items()},
        {(FORMULA if n == first else n): loc for n, loc in base.neighbourhood_to_locality.items()},
    )
    path = write_grouping(g, tmp / "g.json")
    with demo_env():
        out = cli_run(["profile", "--grouping", str(path), "--format", "csv"])
    return list(csv.reader(io.StringIO("\n".join(line for line in out.splitlines() if not line.startswith("#")))))


def _no_formula_cells(rows: list[list[str]]) -> bool:
    cells = [c for r in rows for c in r]
    return f"'{FORMULA}" in cells and not any(c[:1] in ("=", "@") or (c[:1] in "+-" and not _numeric(c)) for c in cells if c)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _store_file(content: bytes) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        (tmp / "s.sqlite").write_bytes(content)
        return cli_run(["scenarios", "--store", str(tmp / "s.sqlite"), "list"])

    return run


def _real_cli(changes: dict, args: list[str], *, want: int = 0) -> Callable[[Path], str]:
    return lambda tmp: cli_run(["--data", str(data_root_with(tmp, changes)), *args], want=want)


def _hospital_without_coordinates(src: Path, dst: Path) -> None:
    dst.write_bytes(src.read_bytes().replace(b"53.459743499755859,-2.2454688549041748", b",", 1))


HOSPITALS = "hospital-sites/nhs_choices_hospitals_2018-01_greater_manchester_bbox.csv"


def _cli_cases() -> list[Case]:
    c = "cli"
    return [
        Case("cli/--threshold inf", c, _demo(["coverage", "--threshold", "inf"]), CliRefused, ("--threshold", "inf")),
        Case("cli/--threshold nan", c, _demo(["hubs", "--threshold", "nan"]), CliRefused, ("--threshold",)),
        Case("cli/--threshold -5", c, _demo(["coverage", "--threshold", "-5"]), CliRefused, ("--threshold",)),
        Case("cli/--time-limit inf", c, _demo(["site-hubs", "--time-limit", "inf"]), CliRefused, ("--time-limit",)),
        Case("cli/-p 0", c, _demo(["site-hubs", "-p", "0"]), CliRefused, ("-p",)),
        Case("cli/--top 0", c, _demo(["suggest", "--top", "0"]), CliRefused, ("--top",)),
        Case("cli/--threshold fifteen", c, _demo(["coverage", "--threshold", "fifteen"]), CliRefused, ("--threshold",)),
        Case("cli/--grouping is a folder", c, _demo(["profile", "--grouping", "."]), CliRefused, ("folder",)),
        Case("cli/--data does not exist", c, lambda tmp: cli_run(["--data", str(tmp / "nope"), "profile"]), CliRefused, ("not a folder",)),
        Case(
            "cli/--place does not exist",
            c,
            lambda tmp: cli_run(["--data", str(tmp), "--place", str(tmp / "p.toml"), "profile"]),
            CliRefused,
            ("p.toml",),
        ),
        Case("cli/map --out is a folder", c, _demo(["map", "--out", "."]), CliRefused, ("directory",)),
        Case("cli/output to a closed pipe", c, _broken_pipe, None, check=lambda r: r[0] == 141 and r[1] == ""),
        Case("cli/Ctrl-C while starting", c, _interrupted_starting, None, check=lambda r: r[0] == 130 and "interrupted" in r[1]),
        Case("cli/Ctrl-C while running", c, _interrupted_running, None, check=lambda r: r[0] == 130 and "interrupted" in r[1], realdata=True),
        Case("cli/profile CSV neutralises formula names", c, _profile_csv, None, check=_no_formula_cells),
        Case("cli/scenarios on a corrupt store", c, _store_file(b"garbage" * 100), CliRefused, ("s.sqlite", "mv")),
        Case(
            "cli/scenarios show a missing name",
            c,
            lambda tmp: cli_run(["scenarios", "--store", str(tmp / "s.sqlite"), "show", "Nope"]),
            CliRefused,
            ("no scenario",),
        ),
        Case("cli/scenarios save a broken file", c, _save_broken, CliRefused, ("not valid JSON",)),
        Case("cli/scenarios export to .txt", c, _export_txt, CliRefused, (".csv or .json",)),
        Case(
            "cli/unreadable practice postcodes refused",
            c,
            _real_cli({PRACTICES: _postcodes_unreadable(6)}, ["profile"]),
            CliRefused,
            ("exit 2", "--allow-data-loss"),
            realdata=True,
        ),
        Case(
            "cli/--allow-data-loss lists the losses",
            c,
            _real_cli({PRACTICES: _postcodes_unreadable(6)}, ["--allow-data-loss", "profile"]),
            None,
            check=lambda out: out.count("placekit: warning: accepted data loss") == 6,
            realdata=True,
        ),
        Case(
            "cli/a loader warning is printed",
            c,
            _real_cli({HOSPITALS: _hospital_without_coordinates}, ["catchments"]),
            None,
            check=lambda out: "placekit: warning:" in out and "NMP01" in out,
            realdata=True,
        ),
        Case(
            "cli/--strict refuses a loader warning",
            c,
            _real_cli({HOSPITALS: _hospital_without_coordinates}, ["--strict", "catchments"]),
            CliRefused,
            ("exit 1", "--strict", "NMP01"),
            realdata=True,
        ),
    ]


def _save_broken(tmp: Path) -> str:
    (tmp / "g.json").write_text("{")
    with demo_env():
        return cli_run(["scenarios", "--store", str(tmp / "s.sqlite"), "save", str(tmp / "g.json")])


def _export_txt(tmp: Path) -> str:
    store = str(tmp / "s.sqlite")
    write_grouping(baseline_grouping(demo_place()), tmp / "g.json")
    with demo_env():
        cli_run(["scenarios", "--store", store, "save", str(tmp / "g.json"), "--name", "X"])
    return cli_run(["scenarios", "--store", store, "export", "X", "--out", str(tmp / "x.txt")])


# --------------------------------------------------------------------------- exports and display
def _mathtext_pdf(tmp: Path) -> bytes:
    place = demo_place()
    base = baseline_grouping(place)
    bad = r"$\frac{1}{$ Evil $x^2$"
    first = base.neighbourhoods[0]
    g = Grouping(
        {w: (bad if n == first else n) for w, n in base.ward_to_neighbourhood.items()},
        {(bad if n == first else n): loc for n, loc in base.neighbourhood_to_locality.items()},
    )
    return profile_pdf(place, g, bad, profile(place, g))


def _markdown(text: str) -> str:
    return MarkdownIt("commonmark").render(escape_markdown(text))


def _export_cases() -> list[Case]:
    e = "exports"
    return [
        Case("exports/$...$ neighbourhood in the profile PDF", e, _mathtext_pdf, None, check=lambda b: b[:4] == b"%PDF"),
        Case(
            "exports/a link in a name is not a link",
            e,
            lambda tmp: _markdown("[Click](https://evil.example)"),
            None,
            check=lambda h: "<a " not in h and "Click" in h,
        ),
        Case(
            "exports/emphasis and headings in a name",
            e,
            lambda tmp: _markdown("# **Big** _x_"),
            None,
            check=lambda h: "<h1>" not in h and "<strong>" not in h and "<em>" not in h,
        ),
        Case("exports/HTML in a name", e, lambda tmp: _markdown("<img src=x onerror=alert(1)>"), None, check=lambda h: "<img" not in h),
        Case(
            "exports/file name with a path",
            e,
            lambda tmp: safe_filename("profile-../../etc/passwd.pdf"),
            None,
            check=lambda n: "/" not in n and ".." not in n and n.endswith(".pdf"),
        ),
        Case("exports/reserved Windows file name", e, lambda tmp: safe_filename("CON.csv"), None, check=lambda n: n.upper() != "CON.CSV"),
        Case(
            "exports/neutralised cells come back exactly",
            e,
            lambda tmp: [restore_cell(neutralise_cell(v)) for v in ["=1+1", "'=x", "-5", "@a", "\tt", "plain"]],
            None,
            check=lambda r: r == ["=1+1", "'=x", "-5", "@a", "\tt", "plain"],
        ),
    ]


CASES: list[Case] = _grouping_cases() + _network_cases() + _siting_cases() + _cli_cases() + _export_cases()
