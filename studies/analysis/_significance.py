"""Seed noise and significance on a landscape: which differences are larger than the noise.

Every test here is a **pooled two-sample t-test on cell means**, with the noise measured by
the study's own seeds:

Seed noise. For the cells of one or two landscapes that have n_c ≥ 2 finished, non-diverged
seeds and whose mean lies in the better half of their landscape, the pooled variance is

    s_p² = Σ_c (n_c − 1)·s_c² / Σ_c (n_c − 1),   with df = Σ_c (n_c − 1)

(s_c the sample standard deviation over the cell's seeds). Only the better half is pooled
because that is where the comparisons are made; near divergence the spread across seeds is
far larger and would hide real differences among good cells. Pooling over many cells gives
the noise estimate many degrees of freedom even with two seeds per cell, which a per-cell
Welch test with one degree of freedom each could not.

Tests. For cell means m_a, m_b over n_a, n_b seeds: t = (m_a − m_b) / (s_p·√(1/n_a + 1/n_b)),
Student's t with df degrees of freedom.

* **Indistinguishable from the best** (:func:`near_best`): one-sided, H₀ "the cell is as good
  as the best", rejected when P(T ≥ t) < ``alpha``. The cells not rejected form the set drawn
  outlined on the heatmap; the best cell is always in it.
* **Difference map** (:func:`difference`): two-sided at ``alpha`` on every cell the two
  landscapes share (same α, same paper λ).
* **Best against best** (:func:`compare_best`): two-sided. Both best cells were chosen as
  minima of noisy landscapes on the same seeds, so this test is optimistic about both; it is
  reported with its p-value, never as a bare claim.
* **Coupling slope interval** (:func:`coupling_interval`): a parametric bootstrap of the
  slope of :mod:`._coupling`: each replicate adds N(0, s_p²/n_c) to every cell mean and refits;
  the interval is the central (1 − ``alpha``) of the replicate slopes. Two optimizers' slopes
  differ beyond the noise when their intervals do not overlap.

With one seed per cell nothing can be measured: :class:`SeedNoise` then has ``measured``
False, and every function says so instead of guessing a noise level.

All metrics are "lower is better". Ranking scores follow :mod:`._landscape` (a cell with any
diverged seed is worse than every finite one and never enters a test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import stats

from ._coupling import batched_slopes, coupling_from_score
from ._landscape import Landscape, grid_key

#: Significance level of every test here (and 1 − the coverage of the slope intervals).
ALPHA: Final[float] = 0.05
#: Bootstrap replicates of the coupling slope; the interval's ends move by well under the
#: slope's own spread between runs at this size, and it costs ~50 ms on an 8×8 grid.
BOOTSTRAP_REPLICATES: Final[int] = 400


@dataclass(frozen=True)
class SeedNoise:
    """Pooled seed noise of a set of cells (see module docstring)."""

    std: float  # s_p, metric units; NaN when not measured
    df: int  # Σ (n_c − 1); 0 when not measured
    n_cells: int  # cells pooled

    @property
    def measured(self) -> bool:
        return self.df > 0 and math.isfinite(self.std)


def seed_noise(*landscapes: Landscape) -> SeedNoise:
    """Pooled standard deviation over seeds of the better half of each landscape's cells."""
    num, df, cells = 0.0, 0, 0
    for land in landscapes:
        ok = (land.n_seeds >= 2) & np.isfinite(land.std) & (land.n_diverged == 0)
        ok &= np.isfinite(land.value)
        if not ok.any():
            continue
        finite = land.value[np.isfinite(land.value) & (land.n_diverged == 0)]
        ok &= land.value <= np.median(finite)
        n = land.n_seeds[ok]
        num += float(np.sum((n - 1) * land.std[ok] ** 2))
        df += int(np.sum(n - 1))
        cells += int(ok.sum())
    if df == 0:
        return SeedNoise(std=float("nan"), df=0, n_cells=0)
    return SeedNoise(std=math.sqrt(num / df), df=df, n_cells=cells)


def _standard_error(noise: SeedNoise, n_a: np.ndarray | int, n_b: np.ndarray | int) -> np.ndarray:
    """s_p·√(1/n_a + 1/n_b): the standard error of a difference of two cell means."""
    with np.errstate(divide="ignore"):
        return noise.std * np.sqrt(1.0 / np.asarray(n_a, float) + 1.0 / np.asarray(n_b, float))


@dataclass(frozen=True, eq=False)
class NearBest:
    """Cells of one landscape statistically indistinguishable from its best cell."""

    mask: np.ndarray  # bool, landscape shape; the best cell is always True
    best: tuple[int, int] | None  # (row, col) of the best cell; None without results
    noise: SeedNoise

    @property
    def count(self) -> int:
        return int(self.mask.sum())


def near_best(land: Landscape, *, noise: SeedNoise | None = None, alpha: float = ALPHA
              ) -> NearBest:
    """The cells whose mean is not significantly worse than the best cell's (one-sided
    pooled t-test at ``alpha``). Without measured noise only the best cell is marked."""
    noise = noise or seed_noise(land)
    mask = np.zeros(land.shape, dtype=bool)
    top = land.best(1)
    if not top:
        return NearBest(mask=mask, best=None, noise=noise)
    b = top[0]
    mask[b] = True
    if not noise.measured or noise.std == 0:
        return NearBest(mask=mask, best=b, noise=noise)
    score = land.score
    ok = np.isfinite(score) & (land.n_seeds > 0)
    se = _standard_error(noise, land.n_seeds, land.n_seeds[b])
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (score - score[b]) / se
    p = stats.t.sf(np.where(ok, t, np.inf), noise.df)
    mask |= ok & (p >= alpha)
    return NearBest(mask=mask, best=b, noise=noise)


@dataclass(frozen=True, eq=False)
class Difference:
    """``minuend − subtrahend`` on the cells two landscapes share; rows α, columns paper λ.

    Negative values: the minuend is better there (lower error).
    """

    minuend: str  # optimizer names
    subtrahend: str
    metric: str
    lr: np.ndarray  # (n_lr,) shared α
    wd_paper: np.ndarray  # (n_wd,) shared paper λ
    value: np.ndarray  # difference of cell means; NaN where either has no finite result
    t: np.ndarray  # t statistic (NaN without noise or results)
    p: np.ndarray  # two-sided p-value
    significant: np.ndarray  # bool: p < alpha
    noise: SeedNoise

    @property
    def n_cells(self) -> int:
        return int(np.isfinite(self.value).sum())


def difference(minuend: Landscape, subtrahend: Landscape, *, alpha: float = ALPHA
               ) -> Difference:
    """Cell-by-cell difference of two landscapes of the same metric, with a two-sided
    pooled t-test per cell. Cells are matched by α and paper λ; the result covers the α
    rows and λ columns both grids have (raises ``ValueError`` if they share none)."""
    if minuend.metric != subtrahend.metric:
        raise ValueError("a difference needs two landscapes of the same metric")
    a_rows, a_cols = _paper_axes(minuend)
    b_rows, b_cols = _paper_axes(subtrahend)
    lr_keys = sorted(set(a_rows) & set(b_rows))
    wd_keys = sorted(set(a_cols) & set(b_cols))
    if not lr_keys or not wd_keys:
        raise ValueError("the two landscapes share no (α, λ) cell")
    ia, ja = [a_rows[k] for k in lr_keys], [a_cols[k] for k in wd_keys]
    ib, jb = [b_rows[k] for k in lr_keys], [b_cols[k] for k in wd_keys]
    sa, na = (x[np.ix_(ia, ja)] for x in (minuend.score, minuend.n_seeds))
    sb, nb = (x[np.ix_(ib, jb)] for x in (subtrahend.score, subtrahend.n_seeds))
    both = np.isfinite(sa) & np.isfinite(sb)
    with np.errstate(invalid="ignore"):  # inf − inf where both diverged: masked out anyway
        value = np.where(both, sa - sb, np.nan)
    noise = seed_noise(minuend, subtrahend)
    if noise.measured and noise.std > 0:
        with np.errstate(invalid="ignore", divide="ignore"):
            t = value / _standard_error(noise, na, nb)
        p = np.where(both, 2.0 * stats.t.sf(np.abs(np.nan_to_num(t)), noise.df), np.nan)
    else:
        t, p = np.full(value.shape, np.nan), np.full(value.shape, np.nan)
    return Difference(minuend=minuend.optimizer, subtrahend=subtrahend.optimizer,
                      metric=minuend.metric, lr=np.array([minuend.lr[i] for i in ia]),
                      wd_paper=np.array([minuend.wd_paper[ia[0], j] for j in ja]), value=value,
                      t=t, p=p, significant=both & np.isfinite(p) & (p < alpha), noise=noise)


def _paper_axes(land: Landscape) -> tuple[dict[float, int], dict[float, int]]:
    """Row index by α and column index by paper λ (keyed to 12 digits); the columns must
    have one λ each, i.e. the landscape must be rectangular in the paper's convention."""
    if not np.allclose(land.wd_paper, land.wd_paper[:1], rtol=1e-9, atol=0.0):
        raise ValueError(f"{land.optimizer}'s grid is not rectangular in the paper's λ, so "
                         "cells cannot be matched with another optimizer's")
    rows = {grid_key(a): i for i, a in enumerate(land.lr)}
    cols = {grid_key(w): j for j, w in enumerate(land.wd_paper[0])}
    return rows, cols


@dataclass(frozen=True)
class BestComparison:
    """Best cell of ``a`` against best cell of ``b`` (lower is better)."""

    a: str
    b: str
    best_a: float
    best_b: float
    n_a: int
    n_b: int
    difference: float  # best_a − best_b
    p: float  # two-sided pooled t-test; NaN when the noise is not measured
    noise: SeedNoise

    @property
    def significant(self) -> bool:
        return math.isfinite(self.p) and self.p < ALPHA


def compare_best(a: Landscape, b: Landscape) -> BestComparison | None:
    """Compare the two landscapes' best cells; None if either has no result yet."""
    ta, tb = a.best(1), b.best(1)
    if not ta or not tb:
        return None
    noise = seed_noise(a, b)
    ma, mb = float(a.value[ta[0]]), float(b.value[tb[0]])
    na, nb = int(a.n_seeds[ta[0]]), int(b.n_seeds[tb[0]])
    p = float("nan")
    if noise.measured and noise.std > 0:
        t = (ma - mb) / float(_standard_error(noise, na, nb))
        p = float(2.0 * stats.t.sf(abs(t), noise.df))
    return BestComparison(a=a.optimizer, b=b.optimizer, best_a=ma, best_b=mb, n_a=na, n_b=nb,
                          difference=ma - mb, p=p, noise=noise)


@dataclass(frozen=True)
class SlopeInterval:
    """Coupling slope with a (1 − alpha) interval from the seed noise."""

    slope: float  # the fit on the landscape itself (NaN with < 3 usable rows)
    low: float  # NaN when the noise is not measured or too few replicates fit
    high: float
    replicates: int  # bootstrap replicates with a finite slope

    @property
    def measured(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)


def coupling_interval(land: Landscape, *, noise: SeedNoise | None = None,
                      replicates: int = BOOTSTRAP_REPLICATES, alpha: float = ALPHA,
                      seed: int = 0) -> SlopeInterval:
    """Parametric bootstrap interval of the coupling slope (see module docstring).

    Deterministic for a given ``seed``. Replicates whose fit has fewer than three usable
    rows are dropped; fewer than half of ``replicates`` left gives no interval.
    """
    noise = noise or seed_noise(land)
    score = land.score
    slope = coupling_from_score(land, score).slope
    nan = float("nan")
    if not noise.measured:
        return SlopeInterval(slope=slope, low=nan, high=nan, replicates=0)
    rng = np.random.default_rng(seed)
    finite = np.isfinite(score) & (land.n_seeds > 0)
    se = np.where(finite, noise.std / np.sqrt(np.maximum(land.n_seeds, 1)), 0.0)
    jitter = np.where(finite, rng.standard_normal((replicates, *score.shape)) * se, 0.0)
    slopes = batched_slopes(land, score + jitter)
    slopes = slopes[np.isfinite(slopes)]
    if len(slopes) < replicates / 2:
        return SlopeInterval(slope=slope, low=nan, high=nan, replicates=len(slopes))
    low, high = np.quantile(slopes, [alpha / 2, 1 - alpha / 2])
    return SlopeInterval(slope=slope, low=float(low), high=float(high), replicates=len(slopes))


def intervals_apart(a: SlopeInterval, b: SlopeInterval) -> bool:
    """True when both intervals are measured and do not overlap."""
    return a.measured and b.measured and (a.high < b.low or b.high < a.low)
