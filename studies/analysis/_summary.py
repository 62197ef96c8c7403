"""One row per (optimizer, schedule): progress, best cell, basin size and coupling slope.

Basin. The basin is the set of cells whose ranking score (aggregated metric; cells with a
diverged seed never count) is within ``margin`` of the best: score ≤ best + margin. Its size
measures how forgiving an optimizer is to its hyperparameters. The default margin is the seed
noise: the median, over cells with at least two seeds, of the standard deviation across
seeds; with one seed per cell it is a fixed 0.005 (half a percentage point of error). The
margin used is reported in every row.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from ._coupling import coupling
from ._landscape import Landscape, landscape
from ._significance import coupling_interval, near_best, seed_noise
from ._tables import validate_trials

#: Display order of the paper's optimizers: each L2 variant next to its decoupled twin.
OPTIMIZER_ORDER: Final[tuple[str, ...]] = ("sgd", "sgdw", "adam", "adamw")
#: Margin used for basins when there is only one seed per cell (error units).
SINGLE_SEED_MARGIN: Final[float] = 0.005

SUMMARY_COLUMNS: Final[tuple[str, ...]] = (
    "optimizer", "schedule", "metric",
    "cells_done",  # cells present with no RUNNING/WAITING trial
    "cells_total",  # cells present in the trials table, any state
    "trials_complete", "trials_total",
    "n_diverged",  # diverged trials
    "best",  # best aggregated metric (lower is better)
    "best_std",  # its standard deviation across seeds
    "best_n_seeds", "best_lr",
    "best_wd_paper",  # λ
    "best_wd_pytorch",  # λ/α
    "best_wd_normalized",  # λ/f
    "top_cells",  # list of (lr, λ paper) of the k best cells, best first
    "margin", "basin_size", "coupling_slope", "coupling_stderr", "coupling_rows",
    "coupling_low",  # 95 % interval of the slope from the seed noise (NaN: not measured)
    "coupling_high",
    "seed_noise",  # pooled std over seeds (NaN with one seed per cell)
    "noise_df",  # its degrees of freedom
    "near_best",  # cells indistinguishable from the best (pooled t-test, 5 %)
)


def default_margin(land: Landscape) -> float:
    """Seed noise (median std over cells with ≥ 2 seeds), else :data:`SINGLE_SEED_MARGIN`."""
    std = land.std[(land.n_seeds >= 2) & np.isfinite(land.std)]
    return float(np.median(std)) if std.size else SINGLE_SEED_MARGIN


def basin_size(land: Landscape, *, margin: float) -> int:
    """Number of cells with score ≤ best + margin (0 if no cell has a result)."""
    finite = land.score[np.isfinite(land.score)]
    return int(np.sum(finite <= finite.min() + margin + 1e-12)) if finite.size else 0


def summary(trials: pd.DataFrame, *, metric: str = "final_test_error",
            margin: float | None = None, k: int = 10, aggregate: str = "mean") -> pd.DataFrame:
    """Summarize every (optimizer, schedule) of ``trials``; columns :data:`SUMMARY_COLUMNS`.

    ``margin`` (metric units) defines the basin, ``None`` for the default of
    :func:`default_margin`. The coupling slope is that of :mod:`._coupling` with its defaults.
    """
    validate_trials(trials)
    if margin is not None and not margin >= 0:
        raise ValueError("margin must be non-negative")
    rank = {o: k for k, o in enumerate(OPTIMIZER_ORDER)}  # unknown optimizers last
    pairs = sorted(((str(o), str(s)) for o, s in trials[["optimizer", "schedule"]]
                    .drop_duplicates().itertuples(index=False)),
                   key=lambda p: (rank.get(p[0], len(rank)), p[0], p[1]))
    rows = []
    for optimizer, schedule in pairs:
        sub = trials[(trials["optimizer"] == optimizer) & (trials["schedule"] == schedule)]
        land = landscape(sub, optimizer=optimizer, metric=metric, convention=None,
                         schedule=schedule, aggregate=aggregate)
        rows.append(_row(land, sub, margin=margin, k=k))
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _row(land: Landscape, sub: pd.DataFrame, *, margin: float | None, k: int) -> dict:
    used_margin = default_margin(land) if margin is None else float(margin)
    present = np.array([len(t) > 0 for t in land.trials.ravel()]).reshape(land.shape)
    top = land.best(k)
    fit = coupling(land)
    # Significance is a t-test on cell means, whatever aggregate the rest of the row uses.
    means = land if land.aggregate == "mean" else landscape(
        sub, optimizer=land.optimizer, metric=land.metric, convention=None,
        schedule=land.schedule, aggregate="mean")
    noise = seed_noise(means)
    interval = coupling_interval(means, noise=noise)
    row = {
        "optimizer": land.optimizer, "schedule": land.schedule, "metric": land.metric,
        "cells_done": int(np.sum(present & (land.n_unfinished == 0))),
        "cells_total": int(present.sum()),
        "trials_complete": int((sub["state"] == "COMPLETE").sum()),
        "trials_total": len(sub),
        "n_diverged": int(land.n_diverged.sum()),
        "top_cells": [(float(land.cell_lr[c]), float(land.wd_paper[c])) for c in top],
        "margin": used_margin,
        "basin_size": basin_size(land, margin=used_margin),
        "coupling_slope": fit.slope, "coupling_stderr": fit.stderr, "coupling_rows": fit.n_rows,
        "coupling_low": interval.low, "coupling_high": interval.high,
        "seed_noise": noise.std, "noise_df": noise.df,
        "near_best": near_best(means, noise=noise).count,
    }
    best = {"best": land.value, "best_std": land.std, "best_lr": land.cell_lr,
            "best_wd_paper": land.wd_paper, "best_wd_pytorch": land.wd_pytorch,
            "best_wd_normalized": land.wd_normalized}
    row.update({key: float(a[top[0]]) if top else float("nan") for key, a in best.items()})
    row["best_n_seeds"] = int(land.n_seeds[top[0]]) if top else 0
    return row

