"""Analysis of learning-rate × weight-decay studies: pandas and numpy only.

Input is the runner's two tidy tables (``trials``, ``curves``; see :data:`TRIAL_COLUMNS`,
:data:`CURVE_COLUMNS`). Every weight decay says its convention: the paper's λ (per-step
shrink η_t·λ), PyTorch's wd = λ/α, or the normalized λ_norm with λ = λ_norm·√(b/(B·T)).

* :func:`landscape` — one optimizer's (α × weight decay) matrix of a metric over seeds, its
  axis in any convention or theory coordinate (:func:`theory_axis`: s = η̄·λ, τ_epoch, α·λ).
* :func:`coupling` — slope of log₂(best λ) against log₂ α across learning-rate rows:
  ≈ 0 separable (decoupled decay), ≈ −1 diagonal valley (L2 under SGD).
* :func:`summary` — one row per (optimizer, schedule): best cell, basin, coupling.
* :func:`seed_noise`, :func:`near_best`, :func:`difference`, :func:`compare_best`,
  :func:`coupling_interval` — what is beyond the seed noise the study measured.
* :func:`transfer_points`, :func:`transfer_fits` — a transfer family's best λ against N or
  width, and the slope of log₂(best λ): 0 constant λ, −1 constant τ_epoch (λ ∝ 1/N).
* :func:`learning_curves` — per-epoch mean and spread over the seeds of chosen cells.

The conversions between conventions are :mod:`core.optim`'s (``convert_weight_decay``,
``normalized_decay_factor``), which work on numpy arrays as well as floats.
"""

from __future__ import annotations

from ._coupling import Coupling, coupling, coupling_from_score
from ._curves import (
    CURVE_FRAME_COLUMNS,
    OPTIMIZER_NAMES,
    Cell,
    display_name,
    equilibrium_angular_update,
    equilibrium_curves,
    learning_curves,
)
from ._landscape import AGGREGATES, THEORY_AXES, Landscape, landscape, theory_axis
from ._significance import (
    ALPHA,
    BestComparison,
    Difference,
    NearBest,
    SeedNoise,
    SlopeInterval,
    compare_best,
    coupling_interval,
    difference,
    intervals_apart,
    near_best,
    seed_noise,
)
from ._summary import (
    OPTIMIZER_ORDER,
    SINGLE_SEED_MARGIN,
    SUMMARY_COLUMNS,
    basin_size,
    default_margin,
    summary,
)
from ._tables import (
    CURVE_COLUMNS,
    CURVE_METRICS,
    TRIAL_COLUMNS,
    TRIAL_METRICS,
    TRIAL_STATES,
    UNFINISHED_STATES,
    require_columns,
    validate_curves,
    validate_trials,
)
from ._transfer import HYPOTHESES, transfer_fits, transfer_points, transfer_verdict

__all__ = [
    "AGGREGATES", "ALPHA", "CURVE_COLUMNS", "CURVE_FRAME_COLUMNS", "CURVE_METRICS", "HYPOTHESES",
    "OPTIMIZER_NAMES", "OPTIMIZER_ORDER", "SINGLE_SEED_MARGIN", "SUMMARY_COLUMNS", "THEORY_AXES",
    "TRIAL_COLUMNS", "TRIAL_METRICS", "TRIAL_STATES", "UNFINISHED_STATES", "BestComparison", "Cell",
    "Coupling", "Difference", "Landscape", "NearBest", "SeedNoise", "SlopeInterval", "basin_size",
    "compare_best", "coupling", "coupling_from_score", "coupling_interval", "default_margin",
    "difference", "display_name", "equilibrium_angular_update", "equilibrium_curves",
    "intervals_apart", "landscape", "learning_curves", "near_best", "require_columns", "seed_noise",
    "summary", "theory_axis", "transfer_fits", "transfer_points", "transfer_verdict",
    "validate_curves", "validate_trials",
]
