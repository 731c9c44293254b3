"""The choice model's core on hand-built choice sets whose probabilities are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estates import choice as ch
from placekit.errors import PlacekitError

# Two origins: the first chooses among three alternatives, the second among two.
INDPTR = np.array([0, 3, 5])
ALT = np.array([0, 1, 2, 1, 2])


def test_probabilities_are_the_logit_formula():
    # Utilities 0, ln 2, ln 3 at origin 0 give 1/6, 2/6, 3/6; ln 1, ln 4 at origin 1 give 1/5, 4/5.
    X = np.log([[1.0], [2.0], [3.0], [1.0], [4.0]])
    p = ch.logit_probabilities(INDPTR, X, np.array([1.0]))
    assert np.allclose(p, [1 / 6, 2 / 6, 3 / 6, 1 / 5, 4 / 5])
    # A coefficient scales the utilities: beta = 2 gives shares 1 : 4 : 9.
    assert np.allclose(ch.logit_probabilities(INDPTR, X, np.array([2.0]))[:3], np.array([1, 4, 9]) / 14)


def test_fit_recovers_known_coefficients_from_expected_counts():
    # Counts equal to N x P under known coefficients are the likelihood's fixed point: the fit must return them.
    rng = np.random.default_rng(3)
    n_o, n_a = 40, 12
    indptr = np.arange(n_o + 1) * n_a
    t = rng.uniform(1, 30, n_o * n_a)
    size = rng.uniform(500, 20_000, n_a)[np.tile(np.arange(n_a), n_o)]
    X = np.column_stack([t, np.log(t), np.log(size)])
    truth = np.array([-0.08, -0.6, 1.05])
    counts = np.repeat(rng.integers(500, 3000, n_o), n_a) * ch.logit_probabilities(indptr, X, truth)
    fit = ch.fit_logit(indptr, X, counts, names=("minutes", "log_minutes", "log_list"))
    assert fit.converged
    assert np.allclose(fit.params, truth, atol=1e-6)
    assert 0 < fit.rho2 < 1 and fit.loglik > fit.loglik_null
    assert list(fit.table().index) == ["minutes", "log_minutes", "log_list"] and (fit.table()["se"] > 0).all()


def test_baselines_and_top_choice_with_ties():
    minutes = np.array([5.0, 5.0, 9.0, 3.0, 1.0])
    near = ch.nearest_probabilities(INDPTR, minutes)
    assert np.allclose(near, [0.5, 0.5, 0.0, 0.0, 1.0])  # one building, two practices: they share
    size = ch.size_probabilities(INDPTR, np.array([1.0, 1.0, 2.0, 3.0, 1.0]))
    assert np.allclose(size, [0.25, 0.25, 0.5, 0.75, 0.25])
    counts = np.array([10, 0, 30, 5, 5])
    # Origin 0: the two tied at the top share the credit for the 10 at alternative 0; origin 1: 5 at the top.
    assert ch.top_choice_share(INDPTR, near, counts) == pytest.approx((10 * 0.5 + 5) / 50)


def test_residence_error_is_half_the_l1_gap_of_the_two_distributions():
    alt = np.array([0, 0, 1, 1])
    observed = np.array([30.0, 70.0, 10.0, 0.0])
    predicted = np.array([50.0, 50.0, 0.0, 20.0])
    err = ch.residence_error(alt, predicted, observed, 3)
    assert err.loc[0, "misplaced"] == pytest.approx(0.2)  # 0.3/0.7 against 0.5/0.5
    assert err.loc[1, "misplaced"] == pytest.approx(1.0)  # disjoint
    assert np.isnan(err.loc[2, "misplaced"])  # no patients observed
    assert err.loc[1, "list_error"] == pytest.approx(1.0)
    assert ch.srmse(observed, observed) == 0


def test_subsets_and_folds():
    keep = np.array([True, False, True, False, False])
    assert ch.subset_pairs(INDPTR, keep).tolist() == [0, 2, 2]  # origin 1 keeps no pair
    folds = ch.practice_folds(10, 3, seed=1)
    assert sorted(np.bincount(folds).tolist()) == [3, 3, 4]
    assert (ch.practice_folds(10, 3, seed=1) == folds).all()
    # A fit on a subset with an empty origin still works, and equals the fit without that origin.
    X = np.log([[1.0], [2.0], [3.0], [1.0], [4.0]])
    counts = np.array([10.0, 20.0, 30.0, 7.0, 9.0])
    sub = ch.fit_logit(np.array([0, 3, 3]), X[:3], counts[:3])
    alone = ch.fit_logit(np.array([0, 3]), X[:3], counts[:3])
    assert np.allclose(sub.params, alone.params)


@pytest.mark.parametrize(
    ("X", "counts", "words"),
    [
        (np.array([[1.0], [np.nan], [1.0], [1.0], [2.0]]), np.ones(5), "not finite"),
        (np.ones((5, 1)), np.zeros(5), "no chooser"),
        (np.ones((5, 1)), -np.ones(5), "choosers"),
        (np.ones((4, 1)), np.ones(4), "indptr"),
    ],
)
def test_refusals(X, counts, words):
    with pytest.raises(PlacekitError, match=words):
        ch.fit_logit(INDPTR, X, counts)
    with pytest.raises(PlacekitError):
        ch.practice_folds(3, 5)


def test_measures_frame_shape():
    err = ch.residence_error(np.array([0, 1]), np.array([1.0, 1.0]), np.array([1.0, 1.0]), 2)
    assert isinstance(err, pd.DataFrame) and list(err.columns) == ["observed", "predicted", "list_error", "misplaced"]
