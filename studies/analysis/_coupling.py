"""How the best weight decay moves with the learning rate: the coupling slope.

Definition. For each learning-rate row α_i of a landscape, take the cells with paper weight
decay λ > 0 (λ = 0 has no logarithm) in ascending λ, and their ranking score (the aggregated
metric, +inf for a cell with any diverged seed, NaN for a cell without a result; see
:mod:`._landscape`). The row's best decay λ*_i is found as follows:

1. j = argmin of the finite scores; a row without one (all diverged or not yet run) is skipped.
2. The minimum must be bracketed: a row whose argmin is the first or last λ > 0 of the row,
   or sits next to a cell without a result, is skipped (``include_edges=True`` keeps such
   rows at the plain argmin instead). The true optimum of a skipped row may lie beyond the
   grid; keeping it would pull the slope towards 0.
3. Refinement (``refine=True``): if both neighbours j−1, j+1 have finite scores, fit the
   parabola through the three points (log₂ λ, score) and take its vertex, clamped to
   [log₂ λ_{j−1}, log₂ λ_{j+1}]. A diverged neighbour (+inf) brackets the minimum but leaves
   log₂ λ*_i = log₂ λ_j.

Fit. Ordinary least squares of y_i = log₂ λ*_i on x_i = log₂ α_i over the kept rows:
slope b = Σ(x−x̄)(y−ȳ) / Σ(x−x̄)², standard error √(Σ r² / (n−2) / Σ(x−x̄)²) with residuals
r; the slope does not depend on the logarithm's base. With fewer than 3 kept rows slope and
standard error are NaN.

Interpretation, always in the paper's λ convention:
  * slope ≈ 0: the best λ does not move with α, the good region is axis-aligned
    ("separable"): decoupled decay, as for SGDW and AdamW in the paper's Figure 2;
  * slope ≈ −1: only the product α·λ matters, the diagonal valley of L2 regularization under
    SGD, where an L2 coefficient λ acts like a decoupled decay α·λ (PAPER.md §1).
On a grid laid out in PyTorch's wd = λ/α, a slope of s in λ is s − 1 in wd.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._landscape import Landscape, landscape


@dataclass(frozen=True, eq=False)
class Coupling:
    """OLS fit of log₂ (best λ) on log₂ α across learning-rate rows (see module docstring)."""

    slope: float  # d log λ* / d log α; NaN with < 3 rows
    stderr: float  # standard error of the slope; NaN with < 3 rows
    intercept: float  # log₂ λ* at α = 1; NaN with < 3 rows
    n_rows: int  # rows used in the fit
    lr: np.ndarray  # α of the rows used
    best_wd: np.ndarray  # refined best paper λ of the rows used
    refined: np.ndarray  # bool per row: the parabola refinement was applied


def coupling(land: Landscape, *, include_edges: bool = False, refine: bool = True) -> Coupling:
    """Coupling slope of a landscape; uses its paper-convention coordinates ``wd_paper``."""
    return coupling_from_score(land, land.score, include_edges=include_edges, refine=refine)


def coupling_from_score(land: Landscape, score: np.ndarray, *, include_edges: bool = False,
                        refine: bool = True) -> Coupling:
    """:func:`coupling` of ``land``'s grid with another ranking ``score`` of the same shape
    (the seed-noise bootstrap of :mod:`._significance` refits perturbed scores)."""
    lrs: list[float] = []
    best: list[float] = []
    refined: list[bool] = []
    for i in range(land.shape[0]):
        lam = land.wd_paper[i]
        keep = np.isfinite(lam) & (lam > 0)
        lam, s = lam[keep], score[i][keep]
        order = np.argsort(lam, kind="stable")
        lam, s = lam[order], s[order]
        row = _row_minimum(np.log2(lam), s, include_edges=include_edges, refine=refine)
        if row is None:
            continue
        lrs.append(float(land.lr[i]))
        best.append(float(2.0 ** row[0]))
        refined.append(row[1])
    x = np.log2(np.asarray(lrs, dtype=float))
    y = np.log2(np.asarray(best, dtype=float))
    slope, stderr, intercept = _ols(x, y)
    return Coupling(
        slope=slope,
        stderr=stderr,
        intercept=intercept,
        n_rows=len(x),
        lr=np.asarray(lrs, dtype=float),
        best_wd=np.asarray(best, dtype=float),
        refined=np.asarray(refined, dtype=bool),
    )


def coupling_slope(
    trials: pd.DataFrame,
    *,
    optimizer: str,
    metric: str = "final_test_error",
    schedule: str | None = None,
    aggregate: str = "mean",
    include_edges: bool = False,
    refine: bool = True,
) -> Coupling:
    """:func:`coupling` of the landscape built from ``trials`` (any grid convention)."""
    land = landscape(
        trials,
        optimizer=optimizer,
        metric=metric,
        convention=None,
        schedule=schedule,
        aggregate=aggregate,
    )
    return coupling(land, include_edges=include_edges, refine=refine)


def _row_minimum(
    x: np.ndarray, s: np.ndarray, *, include_edges: bool, refine: bool
) -> tuple[float, bool] | None:
    """(log₂ λ* of the row, refined?) or None if the row is skipped."""
    finite = np.isfinite(s)
    if not finite.any():
        return None
    j = int(np.argmin(np.where(finite, s, np.inf)))
    n = len(s)
    # NaN (no result yet) does not bracket; +inf (diverged) does, being worse than anything.
    bracketed = 0 < j < n - 1 and not np.isnan(s[j - 1]) and not np.isnan(s[j + 1])
    if not bracketed:
        return (float(x[j]), False) if include_edges else None
    if not (refine and np.isfinite(s[j - 1]) and np.isfinite(s[j + 1])):
        return float(x[j]), False
    return _parabola_vertex(x[j - 1 : j + 2], s[j - 1 : j + 2]), True


def _parabola_vertex(x: np.ndarray, y: np.ndarray) -> float:
    """Vertex of the parabola through three points, clamped to [x₀, x₂]; x₁ if degenerate."""
    (x0, x1, x2), (y0, y1, y2) = x, y
    num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
    den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
    if den == 0 or not np.isfinite(num / den):
        return float(x1)
    return float(np.clip(x1 - 0.5 * num / den, x0, x2))


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    n = len(x)
    if n < 3:
        return float("nan"), float("nan"), float("nan")
    xm, ym = x.mean(), y.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (y - ym)) / sxx)
    intercept = float(ym - slope * xm)
    resid = y - (intercept + slope * x)
    stderr = float(np.sqrt(np.sum(resid**2) / (n - 2) / sxx))
    return slope, stderr, intercept
