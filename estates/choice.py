"""A multinomial logit of choice among sparse choice sets: fit by maximum likelihood, predict, measure the fit.

The pure core of the registration model (:mod:`estates.registration` builds its inputs
from a place). Each origin (an LSOA) has a choice set of alternatives (practices within
reach), stored as compressed rows: ``indptr`` (one more than the origins) delimits each
origin's pairs, ``alt`` names the alternative of each pair, ``X`` holds its terms (pairs
× terms). The probability that a chooser at origin *i* picks alternative *j* is

    P(j | i) = exp(x_ij · β) / Σ_k∈C(i) exp(x_ik · β),

which, with a term log(size_j), is a production-constrained spatial interaction model
(the same likelihood as a Poisson model with one constant per origin, PySAL ``spint``'s
``Production``). β is found by Newton's method with a line search on the grouped
log-likelihood Σ n_ij log P(j | i); every sum over a choice set is one
``numpy.add.reduceat``, so a country's sparse pairs fit in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from placekit.errors import PlacekitError

__all__ = [
    "LogitFit",
    "Segments",
    "fit_logit",
    "logit_probabilities",
    "nearest_probabilities",
    "size_probabilities",
    "top_choice_share",
    "residence_error",
    "srmse",
    "subset_pairs",
    "practice_folds",
    "pair_origins",
]


@dataclass(frozen=True, eq=False)
class Segments:
    """The origins with at least one pair, for segment sums over compressed rows.

    Attributes
    ----------
    starts
        First pair of each non-empty origin.
    group
        Per pair, the position of its origin among the non-empty ones.
    origins
        The non-empty origins' positions.
    """

    starts: np.ndarray
    group: np.ndarray
    origins: np.ndarray

    @classmethod
    def of(cls, indptr: np.ndarray) -> Segments:
        """Return the segments of compressed rows `indptr`."""
        indptr = np.asarray(indptr, dtype=np.int64)
        lengths = np.diff(indptr)
        full = np.flatnonzero(lengths)
        return cls(indptr[:-1][full], np.repeat(np.arange(len(full)), lengths[full]), full)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Return the sum of `values` (pairs, or pairs × k) over each non-empty origin's pairs."""
        if not len(self.starts):
            return np.zeros((0, *np.shape(values)[1:]))
        return np.add.reduceat(values, self.starts, axis=0)

    def max(self, values: np.ndarray) -> np.ndarray:
        """Return the largest of `values` over each non-empty origin's pairs."""
        return np.maximum.reduceat(values, self.starts) if len(self.starts) else np.zeros(0)


def pair_origins(indptr: np.ndarray) -> np.ndarray:
    """Return the origin position of each pair of compressed rows `indptr`."""
    indptr = np.asarray(indptr, dtype=np.int64)
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))


@dataclass(frozen=True)
class LogitFit:
    """A fitted multinomial logit.

    Attributes
    ----------
    names
        The terms, in the order of `params`.
    params, se
        Coefficients and their standard errors (inverse of the observed information).
    loglik
        Log-likelihood at `params`.
    loglik_null
        Log-likelihood of equal shares within every choice set (the McFadden baseline).
    choosers
        Choosers counted in the fit.
    iterations, converged
        Newton steps taken, and whether the log-likelihood stopped improving.
    """

    names: tuple[str, ...]
    params: np.ndarray
    se: np.ndarray
    loglik: float
    loglik_null: float
    choosers: float
    iterations: int
    converged: bool
    extra: dict = field(default_factory=dict)

    @property
    def rho2(self) -> float:
        """Return McFadden's pseudo-R²: 1 − loglik ÷ loglik of equal shares."""
        return 1 - self.loglik / self.loglik_null if self.loglik_null else float("nan")

    def table(self) -> pd.DataFrame:
        """Return one row per term: ``coefficient``, ``se``, ``z``."""
        return pd.DataFrame(
            {"coefficient": self.params, "se": self.se, "z": self.params / self.se}, index=pd.Index(self.names, name="term")
        )


def _check(indptr: np.ndarray, X: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.asarray(indptr, dtype=np.int64)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(indptr) < 1 or indptr[0] != 0 or indptr[-1] != len(X) or (np.diff(indptr) < 0).any():
        raise PlacekitError(f"choice sets: `indptr` must rise from 0 to the number of pairs ({len(X)}); got {indptr[:3]}…{indptr[-3:]}.")
    if not np.isfinite(X).all():
        raise PlacekitError("choice sets: a term is not finite (NaN or infinite) for some pair; check travel times and sizes above 0.")
    if counts is not None and (len(counts) != len(X) or (np.asarray(counts) < 0).any()):
        raise PlacekitError(f"choice sets: `counts` must be one number of choosers (0 or more) per pair ({len(X)}).")
    return indptr, X


def _dot(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Return X · beta without BLAS (its threads stall on a busy machine for these thin matrices)."""
    return np.einsum("ij,j->i", X, beta)


def _evaluate(seg: Segments, X: np.ndarray, beta: np.ndarray, y: np.ndarray, n: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the grouped log-likelihood and each pair's probability."""
    v = _dot(X, beta)
    top = seg.max(v)
    e = np.exp(v - top[seg.group])
    s = seg.sum(e)
    return float((y * v).sum() - (n * (np.log(s) + top)).sum()), e / s[seg.group]


def fit_logit(indptr: np.ndarray, X: np.ndarray, counts: np.ndarray, *, names: tuple[str, ...] | None = None,
              start: np.ndarray | None = None, tol: float = 1e-10, max_iter: int = 100) -> LogitFit:  # fmt: skip
    """Fit the multinomial logit to grouped choices by maximum likelihood (Newton's method, step halving).

    Parameters
    ----------
    indptr
        Compressed rows: origin *i*'s pairs are ``indptr[i]:indptr[i + 1]``.
    X
        Terms of each pair (pairs × terms).
    counts
        Choosers of each pair (e.g. patients of LSOA *i* registered with practice *j*).
    names
        Term names (default ``x0``, ``x1``, …).
    start
        Starting coefficients (default 0).
    tol
        Stop when a step raises the log-likelihood by less than `tol` × |log-likelihood|.

    Raises
    ------
    PlacekitError
        When the inputs disagree in shape, hold non-finite terms or no chooser.
    """
    indptr, X = _check(indptr, X, counts)
    y = np.asarray(counts, dtype=np.float64)
    names = tuple(names or (f"x{k}" for k in range(X.shape[1])))
    seg = Segments.of(indptr)
    n = seg.sum(y)
    if n.sum() <= 0:
        raise PlacekitError("choice sets: no chooser to fit the model to (every count is 0).")
    beta = np.zeros(X.shape[1]) if start is None else np.asarray(start, dtype=np.float64).copy()
    ll, p = _evaluate(seg, X, beta, y, n)
    converged, it = False, 0
    hess = np.eye(X.shape[1])
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        w = n[seg.group] * p
        xbar = seg.sum(p[:, None] * X)
        grad = np.einsum("ij,i->j", X, y - w)
        hess = np.einsum("ij,ik->jk", X * w[:, None], X, optimize=True) - np.einsum("ij,ik->jk", xbar * n[:, None], xbar, optimize=True)
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        rate = 1.0
        while True:
            ll_new, p_new = _evaluate(seg, X, beta + rate * step, y, n)
            if ll_new >= ll or rate < 1e-10:
                break
            rate /= 2
        gain = ll_new - ll
        if ll_new >= ll:
            beta, ll, p = beta + rate * step, ll_new, p_new
        if gain <= tol * abs(ll):
            converged = True
            break
    cov = np.linalg.pinv(hess)
    null = -float((n * np.log(np.diff(indptr)[seg.origins])).sum())
    return LogitFit(names, beta, np.sqrt(np.clip(np.diag(cov), 0, None)), ll, null, float(n.sum()), it, converged)


def logit_probabilities(indptr: np.ndarray, X: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Return each pair's choice probability within its origin's set under `params`."""
    indptr, X = _check(indptr, X)
    seg = Segments.of(indptr)
    v = _dot(X, np.asarray(params, dtype=np.float64))
    e = np.exp(v - seg.max(v)[seg.group])
    return e / seg.sum(e)[seg.group]


def _share_ties(seg: Segments, best: np.ndarray) -> np.ndarray:
    """Return `best` (a boolean per pair) as probabilities: ties within an origin share equally."""
    b = best.astype(np.float64)
    return b / seg.sum(b)[seg.group]


def nearest_probabilities(indptr: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Return the distance-only baseline: everyone at the nearest alternative (ties, e.g. one building, share)."""
    seg = Segments.of(indptr)
    minutes = np.asarray(minutes, dtype=np.float64)
    return _share_ties(seg, minutes == -seg.max(-minutes)[seg.group])


def size_probabilities(indptr: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Return the size-only baseline: alternatives within reach chosen in proportion to their size."""
    seg = Segments.of(indptr)
    size = np.asarray(size, dtype=np.float64)
    return size / seg.sum(size)[seg.group]


def top_choice_share(indptr: np.ndarray, probs: np.ndarray, counts: np.ndarray) -> float:
    """Return the share of choosers at the alternative ranked first at their origin (ties share the credit)."""
    seg = Segments.of(indptr)
    probs = np.asarray(probs, dtype=np.float64)
    top = _share_ties(seg, probs >= seg.max(probs)[seg.group] * (1 - 1e-12))
    y = np.asarray(counts, dtype=np.float64)
    return float((y * top).sum() / y.sum())


def residence_error(alt: np.ndarray, predicted: np.ndarray, observed: np.ndarray, n_alts: int) -> pd.DataFrame:
    """Return, per alternative, how far the predicted residence of its choosers is from the observed one.

    Parameters
    ----------
    alt
        Alternative of each pair.
    predicted, observed
        Choosers per pair (predicted: origin total × probability).

    Returns
    -------
    pandas.DataFrame
        One row per alternative (position): ``observed`` and ``predicted`` totals,
        ``list_error`` (predicted ÷ observed − 1) and ``misplaced`` (half the sum over
        origins of the absolute difference between the two residence distributions, each
        summing to 1: the share of its choosers put in the wrong origin; 0 is perfect, 1
        disjoint).
    """
    alt = np.asarray(alt)
    obs_total = np.bincount(alt, weights=observed, minlength=n_alts)
    pred_total = np.bincount(alt, weights=predicted, minlength=n_alts)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(predicted / pred_total[alt] - observed / obs_total[alt])
        misplaced = 0.5 * np.bincount(alt, weights=np.nan_to_num(gap), minlength=n_alts)
        err = pred_total / obs_total - 1
    misplaced[obs_total <= 0] = np.nan
    misplaced[(pred_total <= 0) & (obs_total > 0)] = 1.0
    return pd.DataFrame({"observed": obs_total, "predicted": pred_total, "list_error": np.where(obs_total > 0, err, np.nan),
                         "misplaced": misplaced})  # fmt: skip


def srmse(predicted: np.ndarray, observed: np.ndarray) -> float:
    """Return the standardised root mean square error of predicted pair flows (0 is perfect; SIM convention)."""
    observed = np.asarray(observed, dtype=np.float64)
    return float(np.sqrt(np.mean((np.asarray(predicted) - observed) ** 2)) / observed.mean())


def subset_pairs(indptr: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Return the compressed rows of the pairs where `keep` is true (origins kept, some possibly empty)."""
    origin = pair_origins(indptr)
    return np.concatenate([[0], np.cumsum(np.bincount(origin[keep], minlength=len(indptr) - 1))]).astype(np.int64)


def practice_folds(n_alts: int, folds: int, *, seed: int = 0) -> np.ndarray:
    """Return a fold number (0 … folds − 1) for each alternative, shuffled reproducibly by `seed`."""
    if folds < 2 or folds > n_alts:
        raise PlacekitError(f"`folds` was {folds} but must be from 2 to the number of alternatives ({n_alts}).")
    order = np.random.default_rng(seed).permutation(n_alts)
    out = np.empty(n_alts, dtype=np.int64)
    out[order] = np.arange(n_alts) % folds
    return out
