"""spopt's PMedian with the one-hub-per-unit rule added: the reference solver for tests and benchmarks."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd


def spopt_pmedian(cost: pd.DataFrame, w: pd.Series, p: int, unit: pd.Series | None = None, *, time_limit: float = 600,
                  fixed: tuple[str, ...] = ()) -> dict:  # fmt: skip
    """Solve with spopt's PMedian (CBC through PuLP), adding Σ y_j ≥ 1 per unit and y_j = 1 for fixed hubs.

    Returns a dict: ``hubs``, ``objective``, ``status``, ``seconds`` (build and solve), ``proven``.
    """
    import pulp
    from spopt.locate import PMedian

    t0 = time.perf_counter()
    model = PMedian.from_cost_matrix(cost.to_numpy(), w.to_numpy(), p_facilities=p, name="reference")
    y = model.fac_vars
    if unit is not None:
        for u in sorted(unit.dropna().unique()):
            model.problem += pulp.lpSum(y[j] for j in np.flatnonzero(unit.reindex(cost.columns).to_numpy() == u)) >= 1
    for f in fixed:
        model.problem += y[cost.columns.get_loc(f)] == 1
    try:
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    except RuntimeError:  # spopt refuses a model CBC left unsolved at its time limit; read any incumbent all the same
        pass
    hubs = [cost.columns[j] for j in range(len(y)) if y[j].value() and y[j].value() > 0.5]
    status = pulp.LpStatus[model.problem.status] if hubs else f"no answer within {time_limit:g} s"
    obj = float(w.to_numpy() @ cost[hubs].to_numpy().min(axis=1)) if hubs else float("nan")
    return {"hubs": sorted(hubs), "objective": obj, "status": status, "seconds": time.perf_counter() - t0,
            "proven": status == "Optimal" and model.problem.sol_status == pulp.LpSolutionOptimal}  # fmt: skip
