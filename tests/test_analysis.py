"""studies.analysis on synthetic trial tables built from closed-form landscapes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest

from studies.analysis import (
    CURVE_COLUMNS,
    SINGLE_SEED_MARGIN,
    SUMMARY_COLUMNS,
    TRIAL_COLUMNS,
    Cell,
    basin_size,
    coupling,
    default_margin,
    landscape,
    learning_curves,
    summary,
    validate_curves,
    validate_trials,
)

FACTOR = 2.0**-6  # λ = λ_norm · FACTOR in these synthetic studies

ErrorFn = Callable[[float, float, int], float]


def make_trials(
    error: ErrorFn,
    *,
    log2_lr: Sequence[float],
    log2_wd: Sequence[float],
    optimizer: str = "adamw",
    convention: str = "paper",
    seeds: Sequence[int] = (0,),
    schedule: str = "cosine",
    study: str = "synthetic",
    first_trial: int = 0,
    zero_wd: bool = False,
) -> pd.DataFrame:
    """One COMPLETE trial per (α, grid weight decay, seed); error(α, λ_paper, seed)."""
    wds = [2.0**w for w in log2_wd] + ([0.0] if zero_wd else [])
    rows = []
    cells = itertools.product([2.0**a for a in log2_lr], wds, seeds)
    for n, (lr, wd, seed) in enumerate(cells):
        lam = {"paper": wd, "pytorch": wd * lr, "normalized": wd * FACTOR}[convention]
        err = error(lr, lam, seed)
        rows.append(
            {
                "study": study,
                "trial": first_trial + n,
                "state": "COMPLETE",
                "optimizer": optimizer,
                "schedule": schedule,
                "lr": lr,
                "seed": seed,
                "weight_decay": wd,
                "wd_convention": convention,
                "wd_paper": lam,
                "wd_pytorch": lam / lr,
                "wd_normalized": lam / FACTOR,
                "diverged": False,
                "diverged_epoch": math.nan,
                "final_test_error": err,
                "best_test_error": err - 0.001,
                "final_val_error": err,
                "best_val_error": err - 0.001,
                "final_train_loss": 10 * err,
                "final_weight_norm": 1.0,
                "duration_s": 1.0,
                "epochs_done": 10,
            }
        )
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def soft(u: float) -> float:
    """A smooth, non-quadratic bowl (so the parabola refinement is not exact)."""
    return 0.02 * (math.sqrt(1.0 + u * u) - 1.0)


LAMBDA_STAR = -7.3  # log2 of the separable landscape's best λ


def log2(x: float) -> float:
    return math.log2(max(x, 2.0**-40))  # λ = 0 acts like a very small λ


def separable(lr: float, lam: float, seed: int = 0) -> float:
    """f(log α) + g(log λ): the best λ is 2^-7.3 for every α."""
    return 0.05 + 0.004 * (log2(lr) + 8.2) ** 2 + soft(log2(lam) - LAMBDA_STAR)


def diagonal(lr: float, lam: float, seed: int = 0) -> float:
    """Depends on log(α·λ) (plus a mild α preference): best λ = 2^-17.3 / α."""
    return 0.05 + 0.002 * (log2(lr) + 8.3) ** 2 + soft(log2(lr * lam) + 17.3)


LR_GRID = np.arange(-12.0, -5.9, 0.5)  # α = 2^-12 … 2^-6 in half steps
WD_GRID = np.arange(-16.0, -1.0, 1.0)  # λ = 2^-16 … 2^-2


def best_cells(trials: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """AdamW's k best cells, best first, with a 1-based rank."""
    land = landscape(trials, optimizer="adamw")
    rows, cols = np.array(land.best(k), dtype=int).reshape(-1, 2).T
    cell = {"lr": land.cell_lr, "wd_paper": land.wd_paper, "wd_pytorch": land.wd_pytorch,
            "value": land.value}
    return pd.DataFrame({"rank": np.arange(1, len(rows) + 1)}
                        | {name: a[rows, cols] for name, a in cell.items()})


def coupling_slope(trials: pd.DataFrame, **options: bool):
    """Coupling fit of AdamW's landscape in its own grid convention."""
    return coupling(landscape(trials, optimizer="adamw", convention=None), **options)


# --- tables and conventions -------------------------------------------------------------


def test_validation_names_missing_columns() -> None:
    trials = make_trials(separable, log2_lr=[-8], log2_wd=[-8])
    assert validate_trials(trials) is trials
    with pytest.raises(ValueError, match="wd_paper"):
        validate_trials(trials.drop(columns=["wd_paper"]))
    curves = pd.DataFrame({c: [1] for c in CURVE_COLUMNS})
    assert validate_curves(curves) is curves
    with pytest.raises(ValueError, match="eta, weight_norm"):
        validate_curves(curves.drop(columns=["eta", "weight_norm"]))


# --- landscapes ---------------------------------------------------------------------------


def test_landscape_axes_sorted_and_values_match_closed_form() -> None:
    trials = make_trials(separable, log2_lr=[-6, -10, -8], log2_wd=[-4, -12, -8], zero_wd=True)
    trials = trials.sample(frac=1.0, random_state=1)  # storage order means nothing
    land = landscape(trials, optimizer="adamw")
    np.testing.assert_array_equal(land.lr, [2**-10, 2**-8, 2**-6])
    np.testing.assert_array_equal(land.wd, [0.0, 2**-12, 2**-8, 2**-4])
    assert land.rectangular and land.convention == "paper" and land.grid_convention == "paper"
    assert land.shape == (3, 4)
    for i, j in np.ndindex(land.shape):
        lr, lam = land.lr[i], land.wd[j]
        if lam > 0:
            assert land.value[i, j] == pytest.approx(separable(lr, lam))
        row = trials[(trials["lr"] == lr) & (trials["wd_paper"] == lam)]
        assert land.trials[i, j] == (int(row["trial"].iloc[0]),)
    assert (land.n_seeds == 1).all() and np.isnan(land.std).all()
    assert (land.diverged_fraction == 0).all()
    np.testing.assert_allclose(land.wd_pytorch, land.cell_wd / land.cell_lr)
    np.testing.assert_allclose(land.wd_normalized, land.cell_wd / FACTOR)


def test_seed_noise_gives_std_matrix_and_default_margin() -> None:
    # Seeds at -d, 0, +d around the closed form: mean = closed form, sample std = d exactly.
    spread = {
        (-10.0, -10.0): 0.001,
        (-10.0, -6.0): 0.002,
        (-6.0, -10.0): 0.003,
        (-6.0, -6.0): 0.006,
    }

    def noisy(lr: float, lam: float, seed: int) -> float:
        return separable(lr, lam) + (seed - 1) * spread[(math.log2(lr), math.log2(lam))]

    trials = make_trials(noisy, log2_lr=[-10, -6], log2_wd=[-10, -6], seeds=(0, 1, 2))
    land = landscape(trials, optimizer="adamw")
    for (a, w), d in spread.items():
        i, j = list(land.lr).index(2.0**a), list(land.wd).index(2.0**w)
        assert land.std[i, j] == pytest.approx(d)
        assert land.value[i, j] == pytest.approx(separable(2.0**a, 2.0**w))
        assert land.n_seeds[i, j] == 3 and len(land.trials[i, j]) == 3
    assert default_margin(land) == pytest.approx(np.median(list(spread.values())))  # 0.0025
    row = summary(trials).iloc[0]
    assert row["margin"] == pytest.approx(0.0025)

    median = landscape(trials, optimizer="adamw", aggregate="median")
    lowest = landscape(trials, optimizer="adamw", aggregate="min")
    np.testing.assert_allclose(median.value, land.value)  # symmetric noise
    np.testing.assert_allclose(
        lowest.value, land.value - np.array([[0.001, 0.002], [0.003, 0.006]])
    )

    single = landscape(trials[trials["seed"] == 0], optimizer="adamw")
    assert default_margin(single) == SINGLE_SEED_MARGIN == 0.005
    assert summary(trials[trials["seed"] == 0]).iloc[0]["margin"] == 0.005


def test_diverged_cells_are_flagged_and_never_best() -> None:
    trials = make_trials(separable, log2_lr=[-10, -8, -6], log2_wd=[-12, -8, -4], seeds=(0, 1))
    best_before = best_cells(trials, k=1).iloc[0]
    # Diverge every seed of the best cell; its error columns even claim a good result:
    # `diverged` is the truth.
    hit = (trials["lr"] == best_before["lr"]) & (trials["wd_paper"] == best_before["wd_paper"])
    trials.loc[hit, ["diverged", "diverged_epoch", "final_test_error"]] = [True, 3.0, 0.0]
    # One of two seeds of another cell diverges (error NaN).
    part = (trials["lr"] == 2.0**-10) & (trials["wd_paper"] == 2.0**-12) & (trials["seed"] == 1)
    trials.loc[part, ["diverged", "final_test_error"]] = [True, math.nan]

    land = landscape(trials, optimizer="adamw")
    i, j = list(land.lr).index(best_before["lr"]), list(land.wd).index(best_before["wd_paper"])
    assert np.isnan(land.value[i, j]) and land.diverged_fraction[i, j] == 1.0
    assert land.diverged[i, j] and land.n_diverged[i, j] == 2 and land.n_seeds[i, j] == 0
    assert land.diverged.sum() == 1
    assert land.diverged_fraction[0, 0] == 0.5 and land.n_seeds[0, 0] == 1
    assert land.value[0, 0] == pytest.approx(separable(2.0**-10, 2.0**-12))

    top = best_cells(trials, k=20)
    assert len(top) == 9 - 2  # neither the diverged nor the half-diverged cell ranks
    assert not (
        (top["lr"] == best_before["lr"]) & (top["wd_paper"] == best_before["wd_paper"])
    ).any()
    assert not ((top["lr"] == 2.0**-10) & (top["wd_paper"] == 2.0**-12)).any()
    assert list(top["rank"]) == list(range(1, 8)) and top["value"].is_monotonic_increasing
    assert summary(trials).iloc[0]["n_diverged"] == 3


def test_best_cells_are_exactly_the_k_smallest() -> None:
    trials = make_trials(diagonal, log2_lr=LR_GRID, log2_wd=WD_GRID)
    top = best_cells(trials, k=10)
    expected = trials.nsmallest(10, "final_test_error")
    assert list(top["value"]) == pytest.approx(list(expected["final_test_error"]))
    assert set(zip(top["lr"], top["wd_paper"], strict=True)) == set(
        zip(expected["lr"], expected["wd_paper"], strict=True)
    )
    np.testing.assert_allclose(top["wd_pytorch"], top["wd_paper"] / top["lr"])


def test_unfinished_and_failed_trials_count_as_present_only() -> None:
    trials = make_trials(separable, log2_lr=[-10, -8], log2_wd=[-10, -8])
    trials.loc[0, ["state", "final_test_error"]] = ["RUNNING", math.nan]
    trials.loc[1, "state"] = "PRUNED"  # has a (partial) error value, still not a result
    trials.loc[2, "state"] = "WAITING"
    land = landscape(trials, optimizer="adamw")
    assert land.n_seeds.tolist() == [[0, 0], [0, 1]]
    assert land.n_unfinished.tolist() == [[1, 0], [1, 0]]
    assert np.isnan(land.value[0]).all() and np.isnan(land.diverged_fraction[0]).all()
    row = summary(trials).iloc[0]
    assert (row["cells_total"], row["cells_done"]) == (4, 2)
    assert (row["trials_total"], row["trials_complete"]) == (4, 1)


def test_pytorch_grid_in_paper_convention_is_sheared() -> None:
    trials = make_trials(separable, log2_lr=[-10, -8, -6], log2_wd=[-2, 0], convention="pytorch")
    own = landscape(trials, optimizer="adamw", convention=None)
    assert own.convention == "pytorch" and own.rectangular
    np.testing.assert_array_equal(own.wd, [0.25, 1.0])

    land = landscape(trials, optimizer="adamw", convention="paper")
    assert not land.rectangular and land.wd is None
    assert land.grid_convention == "pytorch"
    np.testing.assert_array_equal(land.grid_wd, [0.25, 1.0])
    np.testing.assert_allclose(land.cell_wd, np.outer([2**-10, 2**-8, 2**-6], [0.25, 1.0]))
    np.testing.assert_allclose(land.cell_lr, np.repeat([[2**-10], [2**-8], [2**-6]], 2, axis=1))
    for i, j in np.ndindex(land.shape):  # values follow the cells, not the axis
        assert land.value[i, j] == pytest.approx(separable(land.cell_lr[i, j], land.cell_wd[i, j]))


def test_normalized_grid_in_paper_convention_stays_rectangular() -> None:
    trials = make_trials(separable, log2_lr=[-10, -8], log2_wd=[-3, -1], convention="normalized")
    land = landscape(trials, optimizer="adamw", convention="paper")
    assert land.rectangular and land.factor == pytest.approx(FACTOR)
    np.testing.assert_allclose(land.wd, [2**-3 * FACTOR, 2**-1 * FACTOR])
    back = landscape(trials, optimizer="adamw", convention="normalized")
    np.testing.assert_allclose(back.wd, [2**-3, 2**-1])


def with_theory(trials: pd.DataFrame, *, eta: float = 0.5, steps: float = 10.0,
                k: float | None = None) -> pd.DataFrame:
    """The columns the export adds: η̄, S and s̄ = k·λ (k = η̄ unless given)."""
    return trials.assign(eta_mean=eta, steps_per_epoch=steps,
                         shrink_per_step=(eta if k is None else k) * trials["wd_paper"])


def test_theory_axes_by_hand() -> None:
    trials = with_theory(make_trials(separable, log2_lr=[-9, -7], log2_wd=[-10, -8],
                                     zero_wd=True))
    lr = np.array([[2**-9], [2**-7]])
    lam = np.array([[0.0, 2**-10, 2**-8]])
    shrink = landscape(trials, optimizer="adamw", convention="shrink")
    assert shrink.rectangular and (shrink.eta_mean, shrink.steps_per_epoch) == (0.5, 10.0)
    np.testing.assert_allclose(shrink.wd, [0.0, 2**-11, 2**-9])  # s = η̄·λ
    tau = landscape(trials, optimizer="adamw", convention="tau_epoch")
    np.testing.assert_allclose(tau.wd, [np.inf, 2**10 / 5, 2**8 / 5])  # 1/(½·λ·10)
    product = landscape(trials, optimizer="adamw", convention="alpha_lambda")
    assert not product.rectangular  # α·λ shears the grid
    np.testing.assert_allclose(product.cell_wd, lr * lam)
    for land in (shrink, tau, product):  # the one formula for cells, fit lines and exports
        np.testing.assert_allclose(land.to_axis(land.wd_paper, land.cell_lr), land.cell_wd)
        np.testing.assert_array_equal(land.value, shrink.value)  # same cells, new axis
    # λ_norm recomputed per restart period: s̄ = k·λ with k ≠ η̄, and the axis uses k.
    restarts = landscape(with_theory(trials, k=0.4), optimizer="adamw", convention="shrink")
    assert (restarts.eta_mean, restarts.decay_eta) == (0.5, pytest.approx(0.4))
    np.testing.assert_allclose(restarts.wd, [0.0, 0.4 * 2**-10, 0.4 * 2**-8])


def test_theory_axes_refuse_an_unknown_or_mixed_schedule() -> None:
    trials = make_trials(separable, log2_lr=[-9, -7], log2_wd=[-10, -8])
    with pytest.raises(ValueError, match="η̄"):  # no spec stored: no η̄, no S
        landscape(trials, optimizer="adamw", convention="tau_epoch")
    assert landscape(trials, optimizer="adamw", convention="alpha_lambda").shape == (2, 2)
    mixed = with_theory(trials)
    mixed.loc[0, "steps_per_epoch"] = 20.0
    with pytest.raises(ValueError, match="not one value"):
        landscape(mixed, optimizer="adamw", convention="tau_epoch")


def test_several_schedules_must_be_told_apart() -> None:
    cos = make_trials(separable, log2_lr=[-10, -8], log2_wd=[-10, -8], schedule="cosine")
    const = make_trials(
        diagonal, log2_lr=[-10, -8], log2_wd=[-10, -8], schedule="constant", first_trial=100
    )
    trials = pd.concat([cos, const], ignore_index=True)
    with pytest.raises(ValueError, match="schedule"):
        landscape(trials, optimizer="adamw")
    land = landscape(trials, optimizer="adamw", schedule="constant")
    assert land.value[0, 0] == pytest.approx(diagonal(2**-10, 2**-10))
    table = summary(trials)
    assert list(table["schedule"]) == ["constant", "cosine"]


def test_bad_arguments() -> None:
    trials = make_trials(separable, log2_lr=[-8], log2_wd=[-8])
    with pytest.raises(ValueError, match="no trials"):
        landscape(trials, optimizer="sgd")
    with pytest.raises(ValueError, match="metric"):
        landscape(trials, optimizer="adamw", metric="accuracy")
    with pytest.raises(ValueError, match="aggregate"):
        landscape(trials, optimizer="adamw", aggregate="max")


# --- coupling slope -----------------------------------------------------------------------


def test_separable_landscape_has_zero_slope() -> None:
    trials = make_trials(separable, log2_lr=LR_GRID, log2_wd=WD_GRID, zero_wd=True)
    fit = coupling_slope(trials)
    assert fit.n_rows == len(LR_GRID)
    assert abs(fit.slope) < 0.1
    assert np.log2(fit.best_wd) == pytest.approx([LAMBDA_STAR] * fit.n_rows, abs=0.1)


def test_diagonal_valley_has_slope_minus_one() -> None:
    trials = make_trials(diagonal, log2_lr=LR_GRID, log2_wd=WD_GRID, zero_wd=True)
    fit = coupling_slope(trials)
    assert fit.n_rows >= 10
    assert fit.slope == pytest.approx(-1.0, abs=0.1)
    assert 0.0 < fit.stderr < 0.05
    assert fit.intercept == pytest.approx(-17.3, abs=0.3)


def test_refinement_finds_off_grid_optimum() -> None:
    def bowl(lr: float, lam: float, seed: int = 0) -> float:  # exactly quadratic in log λ
        return 0.1 + 0.01 * (math.log2(lam) - LAMBDA_STAR) ** 2

    trials = make_trials(bowl, log2_lr=[-10, -9, -8, -7], log2_wd=WD_GRID)
    land = landscape(trials, optimizer="adamw")
    fit = coupling(land)
    np.testing.assert_allclose(np.log2(fit.best_wd), LAMBDA_STAR, atol=1e-9)
    assert fit.refined.all() and fit.slope == pytest.approx(0.0, abs=1e-9)
    plain = coupling(land, refine=False)
    np.testing.assert_array_equal(np.log2(plain.best_wd), -7.0)
    assert not plain.refined.any()


def test_edge_rows_are_skipped_unless_asked() -> None:
    # The valley's best λ = 2^-17.3/α leaves the λ grid [2^-12, 2^-6] for most rows.
    trials = make_trials(diagonal, log2_lr=LR_GRID, log2_wd=np.arange(-12.0, -5.0))
    fit = coupling_slope(trials)
    wide = coupling_slope(trials, include_edges=True)
    inside = [a for a in LR_GRID if -12 < np.round(-17.3 - a) < -6]  # grid argmin inside
    assert fit.n_rows == len(inside) < wide.n_rows == len(LR_GRID)
    assert fit.slope == pytest.approx(-1.0, abs=0.1)
    assert wide.slope > fit.slope  # censored rows pull the slope towards 0


def test_diverged_neighbour_brackets_and_unknown_does_not() -> None:
    trials = make_trials(separable, log2_lr=[-10, -9, -8, -7], log2_wd=[-9, -8, -7, -6, -5])
    # Row α = 2^-10: the cell right of the argmin (λ = 2^-7) diverges -> kept, not refined.
    hit = (trials["lr"] == 2.0**-10) & (trials["wd_paper"] == 2.0**-6)
    trials.loc[hit, "diverged"] = True
    # Row α = 2^-9: that cell has not run yet -> the minimum is not bracketed, row skipped.
    pending = (trials["lr"] == 2.0**-9) & (trials["wd_paper"] == 2.0**-6)
    trials.loc[pending, ["state", "final_test_error"]] = ["RUNNING", math.nan]
    fit = coupling_slope(trials)
    assert list(fit.lr) == [2**-10, 2**-8, 2**-7]
    assert list(fit.refined) == [False, True, True]
    assert fit.best_wd[0] == 2**-7


def test_too_few_rows_give_nan() -> None:
    trials = make_trials(separable, log2_lr=[-10, -8], log2_wd=WD_GRID)
    fit = coupling_slope(trials)
    assert fit.n_rows == 2 and math.isnan(fit.slope) and math.isnan(fit.stderr)


def test_coupling_on_a_sheared_pytorch_grid_uses_paper_lambda() -> None:
    # A decoupled optimizer whose best λ is fixed, swept in PyTorch's wd = λ/α: in wd the
    # best value moves as 1/α, in λ it does not.
    trials = make_trials(
        separable, log2_lr=LR_GRID, log2_wd=np.arange(-6.0, 10.0), convention="pytorch"
    )
    fit = coupling_slope(trials)
    assert fit.n_rows >= 10 and abs(fit.slope) < 0.1


# --- summary ------------------------------------------------------------------------------


def test_summary_rows_best_cell_basin_and_coupling() -> None:
    sep = make_trials(separable, log2_lr=LR_GRID, log2_wd=WD_GRID, optimizer="sgdw")
    diag = make_trials(
        diagonal, log2_lr=LR_GRID, log2_wd=WD_GRID, optimizer="sgd", first_trial=1000
    )
    table = summary(pd.concat([diag, sep], ignore_index=True), margin=0.002)
    assert list(table.columns) == list(SUMMARY_COLUMNS)
    assert list(table["optimizer"]) == ["sgd", "sgdw"]  # L2 twin first
    for (_, row), frame in zip(table.iterrows(), [diag, sep], strict=True):
        best = frame.loc[frame["final_test_error"].idxmin()]
        assert row["best"] == pytest.approx(best["final_test_error"])
        assert (row["best_lr"], row["best_wd_paper"]) == (best["lr"], best["wd_paper"])
        assert row["best_wd_pytorch"] == pytest.approx(best["wd_paper"] / best["lr"])
        assert row["best_wd_normalized"] == pytest.approx(best["wd_paper"] / FACTOR)
        assert math.isnan(row["best_std"]) and row["best_n_seeds"] == 1
        assert row["basin_size"] == int(
            (frame["final_test_error"] <= best["final_test_error"] + 0.002 + 1e-12).sum()
        )
        assert len(row["top_cells"]) == 10 and row["top_cells"][0] == (best["lr"], best["wd_paper"])
        assert row["margin"] == 0.002
        assert (row["cells_total"], row["cells_done"]) == (len(frame), len(frame))
    assert table.loc[0, "coupling_slope"] == pytest.approx(-1.0, abs=0.1)
    assert abs(table.loc[1, "coupling_slope"]) < 0.1
    assert (table["coupling_rows"] >= 10).all()


def test_basin_size_counts_cells_within_margin() -> None:
    trials = make_trials(separable, log2_lr=[-8], log2_wd=WD_GRID)
    land = landscape(trials, optimizer="adamw")
    values = np.sort(land.value.ravel())
    assert basin_size(land, margin=0.0) == 1
    assert basin_size(land, margin=values[2] - values[0]) == 3


# --- learning curves ----------------------------------------------------------------------


def test_learning_curves_mean_and_spread_over_seeds() -> None:
    trials = make_trials(separable, log2_lr=[-10, -8], log2_wd=[-8], seeds=(0, 1, 2))
    rows = []
    for t in trials.itertuples():
        for epoch in range(1, 6):
            if t.trial == 2 and epoch > 3:  # a seed still running
                continue
            err = 1.0 / epoch + t.seed * 0.01 + t.lr
            rows.append(
                {
                    "trial": t.trial,
                    "epoch": epoch,
                    "train_loss": 2 * err,
                    "train_error": err,
                    "val_error": err,
                    "test_error": err,
                    "eta": 1.0,
                    "weight_norm": 1.0,
                    "elapsed_s": float(epoch),
                }
            )
    curves = pd.DataFrame(rows, columns=list(CURVE_COLUMNS))

    out = learning_curves(
        curves, trials, cells=[Cell(optimizer="adamw", lr=2**-10, wd_paper=2**-8)]
    )
    assert list(out["epoch"]) == [1, 2, 3, 4, 5]
    assert list(out["n"]) == [3, 3, 3, 2, 2]
    np.testing.assert_allclose(out["mean"][:3], 1 / np.arange(1, 4) + 0.01 + 2**-10)
    np.testing.assert_allclose(out["std"][:3], 0.01)
    np.testing.assert_allclose(out["max"] - out["min"], [0.02, 0.02, 0.02, 0.01, 0.01])
    assert out["trials"].iloc[0] == (0, 1, 2)
    assert out["label"].iloc[0] == "AdamW α=0.000977 λ=0.00391"

    by_number = learning_curves(
        curves, trials, trial_numbers=[3, 4, 5, 0, 1, 2], metric="train_loss"
    )
    assert by_number["label"].nunique() == 2
    first = by_number[by_number["lr"] == 2**-8]  # selection order is kept
    assert (
        by_number.index[by_number["lr"] == 2**-8].max()
        < by_number.index[by_number["lr"] == 2**-10].min()
    )
    np.testing.assert_allclose(first["mean"], 2 * (1 / np.arange(1, 6) + 0.01 + 2**-8))

    with pytest.raises(ValueError, match="exactly one"):
        learning_curves(curves, trials)
    with pytest.raises(ValueError, match="not in the trials"):
        learning_curves(curves, trials, trial_numbers=[99])
