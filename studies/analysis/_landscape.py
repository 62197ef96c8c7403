"""Learning-rate × weight-decay landscapes: one matrix per optimizer, rows α, columns λ.

A landscape aggregates one trial metric (lower is better) over the seeds of each grid cell.
Cells are identified by (α, weight decay in the study's grid convention); the weight-decay
axis can then be shown in any convention (:func:`core.optim.convert_weight_decay`).
Converting the axis may shear the grid: a grid laid out in PyTorch's wd = λ/α, shown in the
paper's λ = wd·α, has a different λ in every row. Such a landscape is not rectangular and
carries per-cell coordinates instead of a column axis (so does the theory axis α·λ).

What counts in a cell
  * a trial with ``diverged`` true is *diverged*, whatever its state or error columns say;
  * a COMPLETE, non-diverged trial with a finite metric is a *seed* and enters the value;
  * everything else (RUNNING, WAITING, PRUNED, FAIL, NaN metric) only makes the cell present.
``value`` aggregates the seeds (mean, median or min), ``std`` is their sample standard
deviation (ddof = 1, NaN with one seed), ``diverged_fraction`` = diverged / (seeds + diverged).
A cell whose finished trials all diverged has value NaN and diverged fraction 1. For ranking
(best cells, basin, coupling) a cell with any diverged seed counts as worse than every finite
cell: a setting that blows up for one seed is not a good setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from core.optim import WD_CONVENTIONS, convert_weight_decay

from ._tables import UNFINISHED_STATES, validate_trials

Aggregate = Literal["mean", "median", "min"]
AGGREGATES: Final[tuple[str, ...]] = ("mean", "median", "min")

# Grid values come back from storage as floats; 12 significant digits identify a grid cell
# without being fooled by the last bit of a value that went through a conversion.
_KEY_DIGITS: Final[int] = 12
_REL_TOL: Final[float] = 1e-9
#: Theory coordinates of the weight-decay axis (PAPER.md, beyond the paper); see theory_axis.
THEORY_AXES: Final[tuple[str, ...]] = ("shrink", "tau_epoch", "alpha_lambda")


def theory_axis(axis: str, lam: np.ndarray | float, lr: np.ndarray | float, *,
                decay_eta: float, steps_per_epoch: float) -> np.ndarray:
    """A theory coordinate of the paper's λ at learning rate α (numpy broadcasting).

    * ``shrink``: s = k·λ, a decoupled optimizer's mean per-step shrink (PyTorch: mean lr_t·wd),
      k the mean of η_t·λ_t/λ over the run: η̄, unless λ_norm is recomputed per restart period.
    * ``tau_epoch``: τ_epoch = τ_iter/S = 1/(s·S), S steps per epoch: the timescale in epochs
      of the EMA of updates that AdamW's weights are; ∞ for λ = 0 (Wang & Aitchison, ICML
      2025: the best τ_epoch stays roughly constant across model and data size).
    * ``alpha_lambda``: α·λ. SGD+L2 shrinks by η_t·α·λ per step: for the L2 variants α·λ is
      the effective decay of normalized layers (van Laarhoven 2017; Zhang et al., ICLR 2019).
    """
    lam = np.asarray(lam, dtype=float)
    if axis == "alpha_lambda":
        return lam * lr
    with np.errstate(divide="ignore"):
        return decay_eta * lam if axis == "shrink" else 1.0 / (decay_eta * lam * steps_per_epoch)


@dataclass(frozen=True, eq=False)
class Landscape:
    """One optimizer's (α × weight decay) landscape of a metric; rows α, columns weight decay.

    All matrices have shape ``(len(lr), len(grid_wd))``. ``cell_wd`` holds every cell's
    weight decay in ``convention`` (a convention or one of :data:`THEORY_AXES`); ``wd_paper``
    (λ), ``wd_pytorch`` (λ/α) and ``wd_normalized`` (λ/f) hold it in each convention (NaN
    where the normalization factor f is unknown).
    """

    optimizer: str
    metric: str
    convention: str  # convention of `wd` and `cell_wd`
    grid_convention: str  # convention the grid was laid out in (cells are keyed in it)
    schedule: str | None
    aggregate: str
    factor: float  # f = √(b/(B·T)) of the trials (λ = λ_norm·f); NaN if unknown
    eta_mean: float  # η̄, the mean schedule multiplier over the run; NaN if unknown or mixed
    decay_eta: float  # k = s̄/λ, the mean of η_t·λ_t/λ (= η̄ but for λ_norm under restarts)
    steps_per_epoch: float  # S = ⌈B/b⌉; NaN if unknown or mixed
    lr: np.ndarray  # (n_lr,) ascending initial learning rates α
    grid_wd: np.ndarray  # (n_wd,) ascending column axis in `grid_convention`
    wd: np.ndarray | None  # (n_wd,) column axis in `convention`; None if not rectangular
    rectangular: bool  # True when every column has one weight decay in `convention`
    cell_lr: np.ndarray  # α of each cell
    cell_wd: np.ndarray  # weight decay of each cell in `convention`
    wd_paper: np.ndarray
    wd_pytorch: np.ndarray
    wd_normalized: np.ndarray
    value: np.ndarray  # aggregated metric over seeds (NaN: no seed)
    std: np.ndarray  # sample std over seeds (NaN with < 2 seeds)
    n_seeds: np.ndarray  # int: seeds entering `value`
    n_diverged: np.ndarray  # int: diverged trials
    n_unfinished: np.ndarray  # int: RUNNING or WAITING trials (the cell may still change)
    diverged_fraction: np.ndarray  # diverged / (seeds + diverged); NaN if neither
    trials: np.ndarray  # object: tuple of all trial numbers in the cell, any state

    @property
    def shape(self) -> tuple[int, int]:
        return self.value.shape

    @property
    def diverged(self) -> np.ndarray:
        """Cells whose finished trials all diverged (value NaN, diverged fraction 1)."""
        return (self.n_diverged > 0) & (self.n_seeds == 0)

    @property
    def score(self) -> np.ndarray:
        """Ranking value: ``value`` if no seed diverged, +inf if any did, NaN if no result."""
        out = np.where(np.isfinite(self.value), self.value, np.nan)
        return np.where(self.n_diverged > 0, np.inf, out)

    def to_axis(self, lam: np.ndarray | float, lr: np.ndarray | float) -> np.ndarray:
        """The paper's λ at α as a coordinate of this landscape's axis (``convention``)."""
        if self.convention in THEORY_AXES:
            return theory_axis(self.convention, lam, lr, decay_eta=self.decay_eta,
                               steps_per_epoch=self.steps_per_epoch)
        return convert_weight_decay(lam, from_convention="paper", to_convention=self.convention,
                                    lr=lr, factor=self.factor)

    def best(self, k: int = 10) -> list[tuple[int, int]]:
        """(row, column) of the ``k`` best cells by :attr:`score`, best first.

        Diverged and empty cells never rank; ties go to the smaller α, then smaller λ.
        """
        score = self.score
        rows, cols = np.nonzero(np.isfinite(score))
        order = np.lexsort((self.wd_paper[rows, cols], self.cell_lr[rows, cols], score[rows, cols]))
        return [(int(rows[o]), int(cols[o])) for o in order[: max(k, 0)]]


def landscape(trials: pd.DataFrame, *, optimizer: str, metric: str = "final_test_error",
              convention: str | None = "paper", schedule: str | None = None,
              aggregate: str = "mean") -> Landscape:
    """Aggregate ``metric`` over seeds on the (α × weight decay) grid of one optimizer.

    ``convention`` is the weight-decay convention of the columns (``None``: the grid's own) or
    a theory axis (:data:`THEORY_AXES`; raises when its η̄ or S is unknown or mixed).
    ``schedule`` selects one schedule; it may be omitted only if the optimizer's trials use a
    single schedule (seeds of different schedules are not replicates). Cells present in the
    trials table in any state appear, so a running study's landscape fills in live. The grid
    convention is the trials' ``wd_convention``; if they mix conventions, cells are keyed by
    the paper's λ instead.
    """
    validate_trials(trials)
    if convention is not None and convention not in (*WD_CONVENTIONS, *THEORY_AXES):
        raise ValueError(f"unknown weight-decay convention {convention!r}; "
                         f"expected one of {(*WD_CONVENTIONS, *THEORY_AXES)}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    if metric not in trials.columns:
        raise ValueError(f"unknown metric {metric!r}: not a column of the trials table")

    if (sub := trials[trials["optimizer"] == optimizer]).empty:
        raise ValueError(f"no trials for optimizer {optimizer!r}")
    schedules = sorted(sub["schedule"].dropna().astype(str).unique())
    if schedule is None and len(schedules) > 1:
        raise ValueError(f"optimizer {optimizer!r} has trials for schedules {schedules}; "
                         "pass schedule=")
    if schedule is not None and (sub := sub[sub["schedule"] == schedule]).empty:
        raise ValueError(f"no trials for optimizer {optimizer!r} with schedule {schedule!r}")

    grid_conventions = sub["wd_convention"].dropna().unique()
    if len(grid_conventions) == 1 and grid_conventions[0] in WD_CONVENTIONS:
        grid_convention, wd_column = str(grid_conventions[0]), "weight_decay"
    else:
        grid_convention, wd_column = "paper", "wd_paper"
    shown = grid_convention if convention is None else convention

    lr, row_of = _axis(sub["lr"])
    grid_wd, col_of = _axis(sub[wd_column])
    if not (np.all(lr > 0) and np.all(grid_wd >= 0)):
        raise ValueError("learning rates must be positive and weight decays non-negative")
    shape = (len(lr), len(grid_wd))

    factor, k = _ratio(sub, "wd_paper", "wd_normalized"), _ratio(sub, "shrink_per_step", "wd_paper")
    eta, steps = _ratio(sub, "eta_mean"), _ratio(sub, "steps_per_epoch")
    cell_lr = np.broadcast_to(lr[:, None], shape).copy()
    cell_grid_wd = np.broadcast_to(grid_wd[None, :], shape).copy()
    coords = {name: _convert_or_nan(cell_grid_wd, grid_convention, name, cell_lr, factor)
              for name in WD_CONVENTIONS}
    cell_wd = coords.get(shown)
    if shown in THEORY_AXES:
        cell_wd = theory_axis(shown, coords["paper"], cell_lr, decay_eta=k, steps_per_epoch=steps)
        if np.isnan(cell_wd).any():
            raise ValueError(f"cannot show the {shown} axis: these trials' η̄ or S (steps per "
                             "epoch) are unknown (no stored spec) or not one value")
    elif not np.isfinite(cell_wd).all():
        raise ValueError(f"cannot show a grid in the {grid_convention} convention in the {shown}"
                         " one: the normalization factor of these trials is unknown or not unique")
    rectangular = bool(np.allclose(cell_wd, cell_wd[:1], rtol=_REL_TOL, atol=0.0))

    diverged = sub["diverged"].fillna(False).astype(bool).to_numpy()
    metric_values = pd.to_numeric(sub[metric], errors="coerce").to_numpy(dtype=float)
    states = sub["state"].astype(str).to_numpy()
    seed_ok = (states == "COMPLETE") & ~diverged & np.isfinite(metric_values)
    unfinished = np.isin(states, list(UNFINISHED_STATES)) & ~diverged

    value, std = np.full(shape, np.nan), np.full(shape, np.nan)
    n_seeds, n_div, n_unf = (np.zeros(shape, dtype=int) for _ in range(3))
    cell_trials = np.empty(shape, dtype=object)
    cell_trials.fill(())
    numbers = sub["trial"].to_numpy()
    reducer = {"mean": np.mean, "median": np.median, "min": np.min}[aggregate]
    for (i, j), idx in pd.Series(np.arange(len(sub))).groupby([row_of, col_of]).groups.items():
        idx = np.asarray(idx)
        cell_trials[i, j] = tuple(sorted(int(t) for t in numbers[idx]))
        n_div[i, j] = int(diverged[idx].sum())
        n_unf[i, j] = int(unfinished[idx].sum())
        seeds = metric_values[idx][seed_ok[idx]]
        n_seeds[i, j] = len(seeds)
        if len(seeds):
            value[i, j] = float(reducer(seeds))
        if len(seeds) > 1:
            std[i, j] = float(np.std(seeds, ddof=1))
    finished = n_seeds + n_div
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(finished > 0, n_div / np.maximum(finished, 1), np.nan)

    arrays = [lr, grid_wd, cell_lr, value, std, n_seeds, n_div, n_unf, fraction, cell_trials]
    for arr in [*arrays, cell_wd, *coords.values()]:
        arr.setflags(write=False)
    return Landscape(
        optimizer=optimizer, metric=metric, convention=shown, grid_convention=grid_convention,
        schedule=schedule if schedule is not None else (schedules[0] if schedules else None),
        aggregate=aggregate, factor=factor, eta_mean=eta, decay_eta=k, steps_per_epoch=steps,
        lr=lr, grid_wd=grid_wd, wd=cell_wd[0].copy() if rectangular else None,
        rectangular=rectangular, cell_lr=cell_lr, cell_wd=cell_wd, wd_paper=coords["paper"],
        wd_pytorch=coords["pytorch"], wd_normalized=coords["normalized"], value=value, std=std,
        n_seeds=n_seeds, n_diverged=n_div, n_unfinished=n_unf, diverged_fraction=fraction,
        trials=cell_trials)


def _axis(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values (as stored, keyed to 12 digits) and each row's index into them."""
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(arr).all():
        raise ValueError(f"column {values.name!r} has missing or non-finite values")
    keys = np.array([grid_key(x) for x in arr])
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return arr[first], inverse


def grid_key(x: float) -> float:
    """``x`` rounded to the 12 significant digits that identify a grid value."""
    return float(f"{float(x):.{_KEY_DIGITS}g}")


def _ratio(trials: pd.DataFrame, num: str, den: str | None = None) -> float:
    """The one positive value of column ``num`` (divided by ``den`` where that is > 0) the
    trials agree on, e.g. f = λ / λ_norm; NaN if none is known or they differ."""
    a, b = (pd.to_numeric(trials[c], errors="coerce").to_numpy(dtype=float)
            for c in (num, den or num))
    ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    ratios = a[ok] / b[ok] if den else a[ok]
    f = float(np.median(ratios)) if ratios.size else float("nan")
    return f if ratios.size and np.allclose(ratios, f, rtol=1e-6) else float("nan")


def _convert_or_nan(wd: np.ndarray, from_: str, to: str, lr: np.ndarray, factor: float
                    ) -> np.ndarray:
    if from_ != to and "normalized" in (from_, to) and not (np.isfinite(factor) and factor > 0):
        return np.full(wd.shape, np.nan)
    out = convert_weight_decay(wd, from_convention=from_, to_convention=to, lr=lr, factor=factor)
    return np.asarray(out, dtype=float).copy()
