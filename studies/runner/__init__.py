"""Running studies: create or resume them, work them (any number of workers), read them back.

* :func:`create_study` — store the spec, enqueue every grid cell once (resumable).
* :func:`run_worker` — take waiting cells or sampler trials, train them as populations with
  ``core.train.train_population``, store curves and metrics; :class:`WorkerSummary`; its
  progress callback gets a :class:`Progress` (studies.storage) with the worker's ETA.
* :func:`extend_study`, :func:`refine_cells`, :func:`more_seeds_cells` (refine a landscape,
  add seeds), :func:`add_trials` (raise a tune budget).
* :func:`trials_frame`, :func:`curves_frame` — the tidy tables of :mod:`studies.analysis`;
  :func:`export_trials` — the same as CSV or JSON.

The objective is the final test error in grid mode (the landscapes' metric) and the final
validation error in tune mode (so the sampler never tunes on test data). Imports torch (via
core) and optuna; never streamlit.
"""

from studies.export import FORMATS, curves_frame, export_trials, trials_frame
from studies.runner._convert import (
    core_model,
    core_schedule,
    decay_steps,
    first_period,
    train_config,
)
from studies.runner._create import (
    add_trials,
    create_study,
    extend_study,
    more_seeds_cells,
    refine_cells,
)
from studies.runner._data import load_data
from studies.runner._worker import CURVES_FLUSH_S, DEFAULT_MAX_MEMBERS, WorkerSummary, run_worker

__all__ = [
    "CURVES_FLUSH_S", "DEFAULT_MAX_MEMBERS", "FORMATS", "WorkerSummary", "add_trials", "core_model",
    "core_schedule", "create_study", "curves_frame", "decay_steps", "export_trials",
    "extend_study", "first_period", "load_data", "more_seeds_cells", "refine_cells", "run_worker",
    "train_config", "trials_frame",
]
