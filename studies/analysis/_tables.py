"""The two tidy tables the runner produces, and their validation.

``trials``: one row per Optuna trial (:data:`TRIAL_COLUMNS`). Weight decays appear four
times: ``weight_decay`` in the study's grid convention (``wd_convention``) and the same value
in each convention (``wd_paper`` = λ, ``wd_pytorch`` = λ/α, ``wd_normalized`` = λ/f). Theory
coordinates (NaN without a stored spec): ``eta_mean`` η̄, the mean schedule multiplier over
the run's steps; ``steps_per_epoch`` S = ⌈B/b⌉; ``shrink_per_step`` s̄ = mean η_t·λ_t (paper
λ; = η̄·λ unless λ_norm is recomputed per restart period); ``tau_epochs`` τ_epoch = 1/(s̄·S),
AdamW's EMA timescale in epochs (NaN for λ = 0). Metrics are NaN for unfinished trials;
``diverged`` is the truth about divergence whatever the error columns say.

``curves``: long format, one row per (trial, epoch) with epoch 1-based (:data:`CURVE_COLUMNS`).
Means over the epoch's steps: ``eta_epoch_mean`` η̄ and :mod:`core.train._telemetry`'s
∠(W_t, W_{t+1}) (radians per step) and √Σ‖W‖² of the decayed matrices feeding BatchNorm or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import pandas as pd

#: Trial metrics that can be put on a landscape (all: lower is better).
TRIAL_METRICS: Final[tuple[str, ...]] = (
    "final_test_error", "best_test_error", "final_val_error", "best_val_error",
    "final_train_loss", "final_weight_norm",
)
TRIAL_COLUMNS: Final[tuple[str, ...]] = (
    "study", "trial", "state", "optimizer", "schedule", "lr", "seed",
    "weight_decay", "wd_convention", "wd_paper", "wd_pytorch", "wd_normalized",
    "eta_mean", "steps_per_epoch", "shrink_per_step", "tau_epochs", "diverged", "diverged_epoch",
    *TRIAL_METRICS, "duration_s", "epochs_done",
)

#: Per-epoch metrics of the curves table.
CURVE_METRICS: Final[tuple[str, ...]] = (
    "train_loss", "train_error", "val_error", "test_error", "eta", "weight_norm",
    "eta_epoch_mean", "angular_update_bn", "angular_update_other", "weight_norm_bn",
    "weight_norm_other",
)
CURVE_COLUMNS: Final[tuple[str, ...]] = ("trial", "epoch", *CURVE_METRICS, "elapsed_s")

TRIAL_STATES: Final[tuple[str, ...]] = ("COMPLETE", "RUNNING", "WAITING", "PRUNED", "FAIL")
#: States of a trial that may still produce a result.
UNFINISHED_STATES: Final[frozenset[str]] = frozenset({"RUNNING", "WAITING"})


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, what: str) -> None:
    """Raise ``ValueError`` naming every column of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} table lacks column(s): {', '.join(missing)}")


def validate_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """Check ``trials`` has :data:`TRIAL_COLUMNS`; return it unchanged."""
    require_columns(trials, TRIAL_COLUMNS, what="trials")
    return trials


def validate_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """Check ``curves`` has :data:`CURVE_COLUMNS`; return it unchanged."""
    require_columns(curves, CURVE_COLUMNS, what="curves")
    return curves
