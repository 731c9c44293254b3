"""Hospital catchments: apportionment, summaries and dated trust-code changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from boundaries.catchments import apply_successors, catchment_summary, lsoa_catchments, place_catchments, unit_catchments
from boundaries.grouping import baseline_grouping
from placekit.errors import PlacekitError


def _cat():
    return pd.DataFrame(
        {"msoa_code": ["M1", "M1", "M2", "M2"], "trust_code": ["RW6", "R0A", "RW6", "RBV"], "proportion": [0.6, 0.4, 0.5, 0.5]}
    )


def test_successors_are_dated_and_scoped():
    lad = pd.Series({"M1": "E08000003", "M2": "E08000004"})
    early, rep0 = apply_successors(_cat(), lad, as_of="2020-01-01")
    assert set(early.trust_code) == {"RW6", "R0A", "RBV"} and rep0.empty
    now, rep = apply_successors(_cat(), lad, as_of="2022-01-01")
    m1 = now[now.msoa_code == "M1"].set_index("trust_code")["proportion"]
    assert m1.to_dict() == pytest.approx({"R0A": 1.0})  # NMGH moved to MFT: shares merged
    assert set(now.loc[now.msoa_code == "M2", "trust_code"]) == {"RM3", "RBV"}
    assert list(rep["old_code"]) == ["RW6", "RW6"] and list(rep["new_code"]) == ["R0A", "RM3"]


def test_apportion_and_summary():
    w = lsoa_catchments(_cat(), pd.Series({"L1": "M1", "L2": "M1", "L3": "M2"}), pd.Series({"L1": 100, "L2": 300, "L3": 400}))
    shares = unit_catchments(w, pd.Series({"L1": "A", "L2": "A", "L3": "B"}), pd.Series({"L1": 100, "L2": 300, "L3": 400}))
    assert shares.loc["A", "RW6"] == pytest.approx(0.6) and shares.loc["B", "RBV"] == pytest.approx(0.5)
    s = catchment_summary(shares)
    assert s.loc["A", "dominant_trust"] == "RW6" and s.loc["A", "overlap_index"] == pytest.approx(0.4)
    assert s.loc["B", "entropy_bits"] == pytest.approx(1.0)
    assert np.allclose(shares.sum(axis=1), 1.0)


def test_missing_msoa_is_refused():
    with pytest.raises(PlacekitError, match="no rows for MSOA"):
        lsoa_catchments(_cat(), pd.Series({"L1": "M9"}), pd.Series({"L1": 1}))


@pytest.mark.realdata
def test_real_catchments(real_place):
    r = place_catchments(real_place, baseline_grouping(real_place), as_of="2020-01-01")
    city = r.city_shares.loc[real_place.name]
    assert city["R0A"] == pytest.approx(0.73, abs=0.01) and city["RW6"] == pytest.approx(0.17, abs=0.01)
    now = place_catchments(real_place, baseline_grouping(real_place))
    assert "RW6" not in now.shares.columns
    assert (now.summary["dominant_trust"] == "R0A").all()
    assert len(now.summary) == 12 and now.changes["old_code"].eq("RW6").all()
