"""Transfer families: where the best weight decay lies as the data set (or the width) grows.

Per member study (one landscape at one scale) and optimizer: the best cell's paper λ
(per-step shrink η_t·λ) and the range of paper λ over the cells indistinguishable from it
(:func:`near_best`, the error bar); then the least-squares slope of log₂(best λ) on log₂ x,
x the training points N actually used (the study attribute ``train_size``) or the width
multiple.

The hypotheses, in this project's convention: the decoupled decay makes the weights an EMA
of the updates with timescale τ_iter = 1/(η̄·λ) steps, τ_epoch = τ_iter/S = b/(η̄·λ·N) with
S = N/b steps per epoch (Wang & Aitchison, 2025). The members share b, the schedule (so η̄)
and the epochs, so log₂ τ_epoch = log₂(b/η̄) − log₂ λ − log₂ N: a constant τ_epoch is slope −1
in N (λ ∝ 1/N), a constant λ slope 0. Across widths N is fixed, so there a constant τ_epoch
is slope 0, and slope −1 means λ ∝ 1/width.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from ._curves import display_name
from ._landscape import landscape
from ._significance import near_best

#: (slope 0, slope −1) in words, per what the family scales.
HYPOTHESES: Final[dict[str, tuple[str, str]]] = {
    "data": ("constant λ", "constant τ_epoch = b/(η̄·λ·N), i.e. λ ∝ 1/N"),
    "width": ("constant λ, i.e. constant τ_epoch at fixed N", "λ ∝ 1/width")}


def transfer_points(trials: pd.DataFrame, x: Mapping[str, float], *,
                    metric: str = "final_test_error") -> pd.DataFrame:
    """One row per (study, optimizer, schedule) with a result: ``x`` of the study, the best
    cell's α and paper λ, the paper λ range of the near-best cells, and ``at_edge`` when the
    best λ is the grid's smallest or largest (the optimum may lie beyond). ``trials``: the
    members' trials tables, concatenated."""
    rows = []
    for (study, opt, sched), sub in trials.groupby(["study", "optimizer", "schedule"]):
        land = landscape(sub, optimizer=opt, metric=metric, schedule=sched)
        if (b := (near := near_best(land)).best) is not None:
            lam = land.wd_paper[near.mask]
            rows.append((study, float(x[study]), opt, sched, land.cell_lr[b], land.wd_paper[b],
                         lam.min(), lam.max(), land.value[b], near.count,
                         b[1] in (0, land.shape[1] - 1)))
    return pd.DataFrame(rows, columns=[
        "study", "x", "optimizer", "schedule", "best_lr", "best_wd_paper", "wd_paper_low",
        "wd_paper_high", "best_value", "n_near_best", "at_edge"]).sort_values(
        ["optimizer", "schedule", "x"], ignore_index=True)


def slope_range(u: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[float, float]:
    """The least and greatest slope b of a line a + b·u through every interval [low_i, high_i]
    at u_i (NaN, NaN if no line is): the set of such b is an interval whose ends are lines
    through one interval's lower end and another's upper end, so those are the candidates."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cand = (high[None, :] - low[:, None]) / (u[None, :] - u[:, None])
        cand = cand[np.isfinite(cand)]
        ok = [b for b in cand if np.max(low - b * u) <= np.min(high - b * u) + 1e-9]
    return (float(min(ok)), float(max(ok))) if ok else (np.nan, np.nan)


def transfer_fits(points: pd.DataFrame) -> pd.DataFrame:
    """Per (optimizer, schedule) with two distinct x or more: log₂(best λ) = intercept +
    slope·log₂ x by least squares; ``n`` members fitted (a best λ of 0 has no logarithm and
    is left out), ``at_edge`` of them on the grid's edge; ``slope_low``/``slope_high``: the
    slopes of every line through all members' near-best λ ranges (:func:`slope_range`), the
    slopes the seed noise cannot rule out."""
    rows = []
    for (opt, sched), sub in points[points["best_wd_paper"] > 0].groupby(
            ["optimizer", "schedule"]):
        if sub["x"].nunique() > 1:
            u = np.log2(sub["x"].to_numpy())
            fit = np.polyfit(u, np.log2(sub["best_wd_paper"]), 1)
            with np.errstate(divide="ignore"):  # a range down to λ = 0 has no lower bound
                band = slope_range(u, np.log2(sub["wd_paper_low"].to_numpy()),
                                   np.log2(sub["wd_paper_high"].to_numpy()))
            rows.append((opt, sched, *map(float, fit), *band, len(sub),
                         int(sub["at_edge"].sum())))
    return pd.DataFrame(rows, columns=["optimizer", "schedule", "slope", "intercept",
                                       "slope_low", "slope_high", "n", "at_edge"])


def transfer_verdict(fit: pd.Series, over: str) -> str:
    """Which reference slope, 0 or −1, a fit (a row of :func:`transfer_fits`) supports: the
    ones inside the slopes the near-best ranges allow; the closer one only when both are."""
    words = HYPOTHESES[over]
    head = (f"{display_name(fit.optimizer)} ({fit.schedule}): slope {fit.slope:+.2f} over "
            f"{fit.n} {'data sizes' if over == 'data' else 'widths'}")
    lo, hi = fit.slope_low, fit.slope_high
    if not np.isfinite(lo):
        say = ("no straight line passes through every member's near-best λ range, so neither "
               f"{words[0]} (slope 0) nor {words[1]} (slope −1) describes it")
    else:
        allowed = f"the near-best λ ranges allow slopes from {lo:+.2f} to {hi:+.2f}"
        fits = [lo - 1e-9 <= s <= hi + 1e-9 for s in (0, -1)]
        if all(fits):
            say = (f"but {allowed}: the seed noise cannot tell {words[0]} (slope 0) from "
                   f"{words[1]} (slope −1)")
        elif any(fits):
            yes, no = (1, 0) if fits[1] else (0, 1)
            say = (f"{allowed}: consistent with {words[yes]} (slope {-yes}), not with "
                   f"{words[no]} (slope {-no})")
        else:
            say = f"{allowed}: neither {words[0]} (slope 0) nor {words[1]} (slope −1)"
    edge = (f" {fit.at_edge} of the best λ lie on the grid's edge, where the optimum may lie "
            "beyond it." if fit.at_edge else "")
    return f"{head}; {say}.{edge}"
