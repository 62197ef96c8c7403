"""Seed noise and significance on synthetic studies whose answer is known by construction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from studies.analysis import (
    compare_best,
    coupling_interval,
    difference,
    intervals_apart,
    landscape,
    near_best,
    seed_noise,
    summary,
)
from tests.test_analysis import make_trials

LOG2_LR = [-10, -9, -8, -7, -6, -5, -4, -3]
LOG2_WD = [-12, -11, -10, -9, -8, -7, -6, -5, -4, -3]


def _noise(std: float):
    """error(α, λ, seed) = deterministic bowl + N(0, std²) drawn per (cell, seed)."""

    def add(value: float, lr: float, lam: float, seed: int) -> float:
        key = (round(math.log2(lr) * 8), round(math.log2(lam) * 8) if lam > 0 else -999, seed)
        rng = np.random.default_rng([abs(k) for k in key] + [int(k < 0) for k in key])
        return value + std * float(rng.standard_normal())

    return add


def valley(slope: float, *, std: float, depth: float = 0.05):
    """A bowl in (log₂ α, log₂ λ) whose best log₂ λ moves as ``slope``·log₂ α."""
    noise = _noise(std)

    def error(lr: float, lam: float, seed: int) -> float:
        x, y = math.log2(lr), math.log2(lam)
        centre = -7.5 + slope * (x + 6.5)
        value = 0.3 + depth * ((y - centre) / 2.0) ** 2 + 0.01 * (x + 6.5) ** 2
        return noise(value, lr, lam, seed)

    return error


def test_seed_noise_recovers_the_pooled_std_of_the_better_half():
    trials = make_trials(valley(0.0, std=0.01), log2_lr=LOG2_LR, log2_wd=LOG2_WD,
                         seeds=range(4))
    land = landscape(trials, optimizer="adamw")
    noise = seed_noise(land)
    # Hand computation: pooled variance over cells at or under the median cell mean.
    keep = land.value <= np.median(land.value)
    expected = math.sqrt(np.sum(3 * land.std[keep] ** 2) / (3 * keep.sum()))
    assert noise.df == 3 * keep.sum()
    assert noise.std == pytest.approx(expected)
    assert noise.std == pytest.approx(0.01, rel=0.25)  # the truth it was drawn with


def test_one_seed_measures_no_noise_and_marks_only_the_best():
    trials = make_trials(valley(0.0, std=0.01), log2_lr=LOG2_LR, log2_wd=LOG2_WD)
    land = landscape(trials, optimizer="adamw")
    assert not seed_noise(land).measured
    nb = near_best(land)
    assert nb.count == 1 and nb.mask[nb.best]
    assert not coupling_interval(land).measured


def test_near_best_is_the_set_a_t_test_cannot_separate_from_the_best():
    trials = make_trials(valley(0.0, std=0.01), log2_lr=LOG2_LR, log2_wd=LOG2_WD,
                         seeds=range(3))
    land = landscape(trials, optimizer="adamw")
    nb = near_best(land)
    b = nb.best
    assert b == land.best(1)[0] and nb.mask[b]
    # Reference: the same pooled test written out for every cell.
    s, df = nb.noise.std, nb.noise.df
    for i, j in np.ndindex(land.shape):
        t = (land.value[i, j] - land.value[b]) / (s * math.sqrt(1 / 3 + 1 / 3))
        assert nb.mask[i, j] == (stats.t.sf(t, df) >= 0.05), (i, j)
    # Far from the bowl's centre cells are clearly worse; near it several are not.
    assert 1 < nb.count < land.value.size / 4


def test_near_best_grows_with_the_noise():
    counts = []
    for std in (0.002, 0.02):
        trials = make_trials(valley(0.0, std=std), log2_lr=LOG2_LR, log2_wd=LOG2_WD,
                             seeds=range(3))
        counts.append(near_best(landscape(trials, optimizer="adamw")).count)
    assert counts[0] < counts[1]


def _pair(std: float, seeds=range(3), shift: float = 0.0) -> pd.DataFrame:
    adam = make_trials(valley(-1.0, std=std), log2_lr=LOG2_LR, log2_wd=LOG2_WD,
                       optimizer="adam", seeds=seeds)

    def decoupled(lr: float, lam: float, seed: int) -> float:
        return valley(0.0, std=std)(lr, lam, seed) + shift

    adamw = make_trials(decoupled, log2_lr=LOG2_LR, log2_wd=LOG2_WD, optimizer="adamw",
                        seeds=seeds, first_trial=len(adam))
    return pd.concat([adam, adamw], ignore_index=True)


def test_coupling_intervals_separate_a_diagonal_from_a_separable_valley():
    trials = _pair(0.003)
    adam = coupling_interval(landscape(trials, optimizer="adam"))
    adamw = coupling_interval(landscape(trials, optimizer="adamw"))
    assert adam.low <= -1.0 <= adam.high or abs(adam.slope + 1) < 0.2
    assert adamw.low <= 0.0 <= adamw.high or abs(adamw.slope) < 0.2
    assert intervals_apart(adam, adamw)
    # Deterministic for a seed.
    again = coupling_interval(landscape(trials, optimizer="adam"))
    assert (again.low, again.high) == (adam.low, adam.high)


def test_coupling_intervals_overlap_when_the_noise_swamps_the_valleys():
    trials = _pair(0.2)
    adam = coupling_interval(landscape(trials, optimizer="adam"))
    adamw = coupling_interval(landscape(trials, optimizer="adamw"))
    assert not intervals_apart(adam, adamw)


def test_difference_map_marks_only_cells_beyond_the_noise():
    trials = _pair(0.005, shift=0.0)
    adam = landscape(trials, optimizer="adam")
    adamw = landscape(trials, optimizer="adamw")
    diff = difference(adamw, adam)
    assert diff.value.shape == adam.shape
    np.testing.assert_allclose(diff.value, adamw.value - adam.value)
    # Reference two-sided test per cell.
    s, df = diff.noise.std, diff.noise.df
    t = diff.value / (s * math.sqrt(2 / 3))
    np.testing.assert_array_equal(diff.significant, 2 * stats.t.sf(np.abs(t), df) < 0.05)
    # Along the diagonal both bowls agree: most of those cells are within the noise.
    assert diff.significant.any() and not diff.significant.all()


def test_difference_matches_cells_by_alpha_and_lambda_on_different_grids():
    trials = _pair(0.005)
    adam = landscape(trials[(trials.optimizer == "adam") & (trials.lr > 2.0**-8)],
                     optimizer="adam")
    adamw = landscape(trials[(trials.optimizer == "adamw") & (trials.wd_paper < 2.0**-5)],
                      optimizer="adamw")
    diff = difference(adamw, adam)
    assert diff.value.shape == (5, 7)
    np.testing.assert_allclose(diff.lr, 2.0 ** np.arange(-7, -2))
    np.testing.assert_allclose(diff.wd_paper, 2.0 ** np.arange(-12, -5))


def test_compare_best_is_significant_only_when_the_gap_exceeds_the_noise():
    clear = compare_best(*(landscape(_pair(0.003, shift=-0.02), optimizer=o)
                           for o in ("adamw", "adam")))
    assert clear.difference == pytest.approx(-0.02, abs=0.006) and clear.significant
    tie = compare_best(*(landscape(_pair(0.003, shift=0.0), optimizer=o)
                         for o in ("adamw", "adam")))
    assert not tie.significant
    one_seed = compare_best(*(landscape(_pair(0.003, seeds=(0,), shift=-0.02), optimizer=o)
                              for o in ("adamw", "adam")))
    assert math.isnan(one_seed.p) and not one_seed.significant


def test_summary_counts_near_best_cells_and_reports_intervals():
    frame = summary(_pair(0.003)).set_index("optimizer")
    for opt in ("adam", "adamw"):
        land = landscape(_pair(0.003), optimizer=opt)
        assert frame.loc[opt, "near_best"] == near_best(land).count
        assert frame.loc[opt, "coupling_low"] <= frame.loc[opt, "coupling_high"]
        assert frame.loc[opt, "seed_noise"] == pytest.approx(seed_noise(land).std)
    assert frame.loc["adam", "coupling_high"] < frame.loc["adamw", "coupling_low"]


def test_batched_slopes_equal_the_one_at_a_time_fit():
    """The bootstrap's vectorised refit against coupling_from_score, replicate by replicate,
    on scores with NaN (not run), +inf (diverged) and edge minima mixed in."""
    from studies.analysis import coupling_from_score
    from studies.analysis._coupling import batched_slopes

    trials = make_trials(valley(-0.7, std=0.01), log2_lr=LOG2_LR, log2_wd=LOG2_WD,
                         seeds=range(2))
    land = landscape(trials, optimizer="adamw")
    rng = np.random.default_rng(1)
    scores = land.score + rng.normal(0, 0.02, (60, *land.shape))
    scores[rng.random(scores.shape) < 0.05] = np.nan
    scores[rng.random(scores.shape) < 0.05] = np.inf
    fast = batched_slopes(land, scores)
    slow = np.array([coupling_from_score(land, s).slope for s in scores])
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12, equal_nan=True)
    assert np.isfinite(fast).sum() > 40


def test_significance_is_always_on_means_whatever_the_aggregate():
    trials = _pair(0.003)
    by_mean = summary(trials).set_index("optimizer")
    by_median = summary(trials, aggregate="median").set_index("optimizer")
    for column in ("near_best", "coupling_low", "coupling_high", "seed_noise"):
        assert list(by_median[column]) == list(by_mean[column]), column
