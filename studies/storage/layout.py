"""How a study is laid out in Optuna's storage: the attribute names every module agrees on,
and the one mapping between a grid cell (:class:`studies.spec.Cell`) and a trial's params.

Study user attributes
---------------------
``spec``            the :meth:`StudySpec.to_dict` that made the study (a JSON object)
``schema_version``  :data:`SCHEMA_VERSION` of this layout
``created``         ISO 8601 UTC time the study was created
``mode``            "grid" or "tune"
``train_size``      B, the number of training points actually used (for λ_norm)
``cells_total``     grid: number of distinct cells enqueued so far (grows with extend_study)
``cells_enqueued``  grid: true once every cell of the spec is enqueued
``n_trials``        tune: the trial budget (grows with add_trials)

Trial (grid mode)
-----------------
params              optimizer, lr, weight_decay (in the spec's convention), seed, schedule;
                    enqueued as ``fixed_params`` and set when a worker starts the trial
user attrs          ``cell`` (the cell key), ``seed``, ``schedule``, ``wd_convention`` from
                    the start; when the trial ends ``diverged``, ``diverged_epoch``,
                    ``metrics`` (final and best errors, final train loss, weight norm,
                    epochs done, duration, B, the worker's host:pid) and ``curves``
                    (per-epoch lists of :data:`CURVE_SERIES`, telemetry included); ``curves``
                    is also refreshed while the trial runs
intermediate values the validation error after every epoch (``trial.report(step=epoch)``)
value               final test error (1.0 for a diverged run) in grid mode; final
                    validation error in tune mode, so that the sampler never sees test data

Tune-mode trials have the same user attributes except ``cell``; their params are the
sampled optimizer, lr, weight_decay and schedule (seed is a user attribute).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from studies.spec import Cell

SCHEMA_VERSION: Final[int] = 1

# study user attributes
SPEC: Final[str] = "spec"
SCHEMA: Final[str] = "schema_version"
CREATED: Final[str] = "created"
MODE: Final[str] = "mode"
TRAIN_SIZE: Final[str] = "train_size"
CELLS_TOTAL: Final[str] = "cells_total"
CELLS_ENQUEUED: Final[str] = "cells_enqueued"
N_TRIALS: Final[str] = "n_trials"

# trial user attributes
CELL: Final[str] = "cell"
SEED: Final[str] = "seed"
SCHEDULE: Final[str] = "schedule"
WD_CONVENTION: Final[str] = "wd_convention"
DIVERGED: Final[str] = "diverged"
DIVERGED_EPOCH: Final[str] = "diverged_epoch"
METRICS: Final[str] = "metrics"
CURVES: Final[str] = "curves"
INTERRUPTED: Final[str] = "interrupted"
ERROR: Final[str] = "error"
REMOVED: Final[str] = "removed"  # a cell taken out by its user (FAIL; see dashboard._added)

#: Per-epoch series stored in the ``curves`` attribute (after ``epoch``), in this order; the
#: last five are the equilibrium telemetry (:class:`core.train.EpochMetrics`; NaN when off).
CURVE_SERIES: Final[tuple[str, ...]] = (
    "train_loss", "train_error", "val_error", "test_error", "val_loss", "test_loss", "eta",
    "weight_norm", "elapsed_s", "eta_epoch_mean", "angular_update_bn", "angular_update_other",
    "weight_norm_bn", "weight_norm_other",
)

# Cells are told apart by 12 significant digits, as studies.analysis keys its grid: a value
# that went through JSON or a unit conversion must still find its cell.
_KEY_DIGITS: Final[int] = 12


def cell_key(*, optimizer: str, lr: float, weight_decay: float, seed: int, schedule: str) -> str:
    """The identity of a grid cell, e.g. ``adamw|cosine|seed=0|lr=0.001|wd=0.0001``."""
    return (
        f"{optimizer}|{schedule}|seed={int(seed)}"
        f"|lr={float(lr):.{_KEY_DIGITS}g}|wd={float(weight_decay):.{_KEY_DIGITS}g}"
    )


def cell_params(cell: Cell) -> dict[str, Any]:
    """A cell as Optuna trial params: optimizer, lr (α), weight_decay (in the cell's
    convention, never converted), seed, schedule."""
    return {"optimizer": cell.optimizer, "lr": float(cell.lr),
            "weight_decay": float(cell.weight_decay), "seed": int(cell.seed),
            "schedule": cell.schedule}


def key_of(cell: Cell) -> str:
    return cell_key(**cell_params(cell))


#: The user attributes of :func:`cell_attrs`: what a trial's copy (a retry) must carry over.
CELL_ATTRS: Final[tuple[str, ...]] = (CELL, SEED, SCHEDULE, WD_CONVENTION)


def cell_attrs(cell: Cell) -> dict[str, Any]:
    """The user attributes a cell's trial carries from the start (see the module docstring)."""
    return {CELL: key_of(cell), SEED: int(cell.seed), SCHEDULE: cell.schedule,
            WD_CONVENTION: cell.convention}


def cell_of(params: Mapping[str, Any], convention: str) -> Cell | None:
    """The cell of a trial's params (the inverse of :func:`cell_params`); None for params
    that are not a cell's (a trial enqueued by other code)."""
    try:
        return Cell(optimizer=str(params["optimizer"]), lr=float(params["lr"]),
                    weight_decay=float(params["weight_decay"]), seed=int(params["seed"]),
                    schedule=str(params["schedule"]), convention=convention)
    except (KeyError, TypeError, ValueError):
        return None
