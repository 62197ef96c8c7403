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

from ._landscape import Landscape


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
    best, refined = _row_minima(land, score[None], include_edges=include_edges, refine=refine)
    kept = np.isfinite(best[0])
    slope, stderr, intercept = (float(a[0]) for a in _ols(np.log2(land.lr), best))
    return Coupling(slope=slope, stderr=stderr, intercept=intercept, n_rows=int(kept.sum()),
                    lr=np.asarray(land.lr[kept], dtype=float), best_wd=2.0 ** best[0][kept],
                    refined=refined[0][kept])


def batched_slopes(land: Landscape, scores: np.ndarray) -> np.ndarray:
    """Coupling slopes of ``land``'s grid under R ranking scores at once, shape (R, *shape),
    with the defaults of :func:`coupling_from_score`: the bootstrap refits hundreds of
    replicates. NaN where fewer than three rows are kept."""
    return _ols(np.log2(land.lr), _row_minima(land, scores, include_edges=False,
                                              refine=True)[0])[0]


def _row_minima(land: Landscape, scores: np.ndarray, *, include_edges: bool, refine: bool
                ) -> tuple[np.ndarray, np.ndarray]:
    """log₂ λ*_i of every row under each of R ranking scores (R, *shape), NaN where the row is
    skipped, and whether the parabola refinement was applied: steps 1-3 of the module
    docstring, vectorised over the replicates, both shaped (R, n_rows)."""
    reps, n_rows = scores.shape[0], land.shape[0]
    best = np.full((reps, n_rows), np.nan)
    refined = np.zeros((reps, n_rows), dtype=bool)
    r = np.arange(reps)
    for i in range(n_rows):
        lam = land.wd_paper[i]
        keep = np.flatnonzero(np.isfinite(lam) & (lam > 0))
        if keep.size == 0:
            continue
        keep = keep[np.argsort(lam[keep], kind="stable")]
        x, s = np.log2(lam[keep]), scores[:, i, keep]
        finite = np.isfinite(s)
        j = np.argmin(np.where(finite, s, np.inf), axis=1)
        jl, jr = np.maximum(j - 1, 0), np.minimum(j + 1, len(x) - 1)
        (x0, x1, x2), (y0, y1, y2) = (x[jl], x[j], x[jr]), (s[r, jl], s[r, j], s[r, jr])
        # NaN (no result yet) does not bracket; +inf (diverged) does, being worse than anything.
        bracketed = (j > 0) & (j < len(x) - 1) & ~np.isnan(y0) & ~np.isnan(y2)
        ok = finite.any(axis=1) & (bracketed | include_edges)
        fit = ok & bracketed & refine & np.isfinite(y0) & np.isfinite(y2)
        # Vertex of the parabola through the three points, clamped to [x₀, x₂]; x₁ if flat.
        with np.errstate(invalid="ignore", divide="ignore"):
            num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
            den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
            vertex = x1 - 0.5 * num / den
        vertex = np.where(fit & (den != 0) & np.isfinite(vertex), np.clip(vertex, x0, x2), x1)
        best[:, i] = np.where(ok, vertex, np.nan)
        refined[:, i] = fit
    return best, refined


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(slope, stderr, intercept) of y on x for each row of y (R, n) over its finite
    entries (see the module docstring); NaN with fewer than three."""
    kept = np.isfinite(y)
    n = kept.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = np.where(kept, x, 0.0).sum(axis=1) / n
        ym = np.where(kept, y, 0.0).sum(axis=1) / n
        dx = np.where(kept, x - xm[:, None], 0.0)
        dy = np.where(kept, y - ym[:, None], 0.0)
        sxx = (dx**2).sum(axis=1)
        slope = (dx * dy).sum(axis=1) / sxx
        resid = dy - slope[:, None] * dx
        stderr = np.sqrt((resid**2).sum(axis=1) / (n - 2) / sxx)
        intercept = ym - slope * xm
    few = n < 3
    return np.where(few, np.nan, slope), np.where(few, np.nan, stderr), np.where(
        few, np.nan, intercept)
