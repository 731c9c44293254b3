"""The profile pack: full names, escaped user text, HTML and PDF from the same content, and the CLI that writes it."""

from __future__ import annotations

import re

import pytest

from boundaries.grouping import Grouping
from placekit.render.pack import PdfUnavailableError, build_pack, locality_grouping, pack_filename, pack_html, pack_pdf
from placekit.render.report import write_profile
from tests.boundaries.test_health import _with_health_layers

NASTY = '<script>alert("x")</script> $\\frac{1}{0}$ Ancoats, Clayton, Bradford and the Very Long Neighbourhood Name'


@pytest.fixture
def nasty(tiny_place):
    w = [f"E0590000{i}" for i in range(1, 7)]
    g = Grouping({w[0]: NASTY, w[1]: NASTY, w[2]: "B & <i>C</i>", w[3]: "C", w[4]: "C", w[5]: "B & <i>C</i>"},
                 {NASTY: "West <b>", "B & <i>C</i>": "East", "C": "West <b>"}, name="Scenario <img src=x onerror=alert(1)> $5$")  # fmt: skip
    return _with_health_layers(tiny_place), g


def test_pack_html_has_the_full_name_and_no_raw_user_html(nasty):
    place, g = nasty
    page = pack_html(build_pack(place, g, NASTY))
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; $\\frac{1}{0}$ Ancoats, Clayton, Bradford and the Very Long Neighbourhood Name" in page
    assert "<script" not in page.lower() and "<img src=x" not in page and "<i>C</i>" not in page and "West <b>" not in page
    assert "Scenario &lt;img src=x onerror=alert(1)&gt; $5$" in page
    for section in ("Map", "Key figures", "Age structure", "Health need", "Containment and who crosses", "Community assets"):
        assert f">{section}</h2>" in page
    assert "Resident containment" in page and "List containment" in page
    assert re.search(r"<table class=\"stack\"><caption>Registered view", page)


def test_pack_states_population_and_year_and_the_modelled_view(nasty):
    place, g = nasty
    page = pack_html(build_pack(place, g, "C"))
    assert "Census 2021 usual residents, 21 March 2021" in page and "GP-registered patients, any practice, July 2022" in page
    assert "Resident view (modelled)" in page and "assumes each practice" in page
    assert "QOF test" in page


def test_pack_pdf_prints_the_same_content(nasty):
    place, g = nasty
    pack = build_pack(place, g, NASTY, level="neighbourhood")
    try:
        pdf = pack_pdf(pack)
    except PdfUnavailableError as exc:  # pragma: no cover - CI installs Pango
        pytest.skip(str(exc))
    assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000


def test_locality_pack_and_bad_requests(nasty):
    place, g = nasty
    assert set(locality_grouping(g).neighbourhoods) == {"West <b>", "East"}
    page = pack_html(build_pack(place, g, "West <b>", level="locality"))
    assert "West &lt;b&gt;" in page and "Profile of the locality" in page
    with pytest.raises(Exception, match="is not in grouping"):
        build_pack(place, g, "Nowhere")
    with pytest.raises(Exception, match='`indicator` was "xyz"'):
        build_pack(place, g, "C", indicator="xyz")
    assert "DM" in pack_html(build_pack(place, g, "C", indicator="DM"))


def test_write_profile_refuses_other_suffixes(nasty, tmp_path):
    place, g = nasty
    with pytest.raises(Exception, match=r"must be .pdf or .html"):
        write_profile(tmp_path / "p.docx", place, g, "C")
    out = write_profile(tmp_path / "p.html", place, g, "C")
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert pack_filename(NASTY, ".pdf").startswith("profile-script-alert-x-script-frac-1-0-ancoats")


def test_pack_of_the_demo_place_says_so_and_skips_missing_layers():
    from boundaries.grouping import baseline_grouping
    from geo.demo import demo_place

    place = demo_place()
    g = baseline_grouping(place)
    page = pack_html(build_pack(place, g, g.neighbourhoods[0]))
    assert page.count("DEMO DATA") >= 2 and "The place has no QOF layer" in page
    assert "n/a" not in page.split('id="key-figures"')[1].split("</section>")[0]


def test_the_pack_shows_access_to_hubs_with_the_drive_spread():
    """With hubs and travel times, the pack says time to the nearest hub by mode, drive as value (low–high) with its calibrated range."""
    from boundaries.grouping import baseline_grouping
    from estates.access import build_access, initial_hubs
    from geo.demo import demo_place

    place = demo_place()
    g = baseline_grouping(place)
    access = {m: build_access(place, g, mode=m) for m in ("walk", "drive")}
    hubs, _ = initial_hubs(access["walk"])
    nb = g.neighbourhoods[0]
    pack = build_pack(place, g, nb, hubs=hubs, sites=access["walk"].sites, access=access)
    sec = next(s for s in pack.sections if s.id == "access")
    drive = [r for r in sec.blocks[0].rows if r[0] == "drive"]
    assert [r[1] for r in drive] == [nb, place.name] and all("–" in r[2] and "(" in r[2] for r in drive)
    assert any("calibrated on 4.3–26.7 km" in p for p in sec.paragraphs)
    page = pack_html(pack)
    assert "Access to hubs" in page and "Capacity (patients)" in page
    assert "access" not in [s.id for s in build_pack(place, g, nb).sections]  # no hubs: no section
