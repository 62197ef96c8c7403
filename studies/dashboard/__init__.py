"""The dashboard's logic, without Streamlit: everything a page does that is worth a test.

* Options and policy: :func:`options`, :func:`storage_url`, :func:`is_read_only`,
  :func:`require_writable`, :class:`ReadOnlyError` (read-only mode for demos).
* Processes: :func:`launch`, :func:`ensure_worker`, :func:`cancel_run`, :func:`run_status`,
  :func:`active_runs`, :func:`run_log` — a study launched from the browser is the CLI in its
  own process, remembered in a registry in the data directory.
* Live view: :func:`study_progress` (a :class:`studies.storage.Progress`), :func:`signature`
  (cache key), :func:`live_view` (both, and the running cells' latest errors, in one read);
  ETAs from :class:`EtaEstimator`, in words by :func:`format_duration`.
* Refining: :func:`refine_region`, :func:`more_seeds`, :func:`add_tune_trials`;
  :func:`delete`.
* Figures and tables: :func:`landscapes`, :func:`add_click_layer`, :func:`picked_cells`,
  :func:`studies_table`, :func:`summary_table`, :func:`study_report`, :func:`exports`.
* The study form from the spec's field descriptions: :mod:`studies.dashboard.forms`.
* Schedules page: :func:`eta_series`, :func:`convert`; the Curves page's equilibrium under
  normalized decay: :func:`study_decay_ratios`.

Never imports streamlit (DESIGN.md: ``studies/`` works headless).
"""

from studies.dashboard import _forms as forms
from studies.dashboard._actions import (
    add_tune_trials,
    added_cells,
    check_data,
    delete,
    demo_blurb,
    ensure_worker,
    existing_spec,
    form_yaml,
    launch,
    launch_summary,
    more_seeds,
    read_form,
    read_yaml,
    refine_plan,
    refine_region,
    remove_added,
    run_demo,
)
from studies.dashboard._added import exact_text
from studies.dashboard._captions import landscape_caption
from studies.dashboard._family import Member, family_fit, family_members
from studies.dashboard._figures import (
    ALL_SCHEDULES,
    CELLS_ROLE,
    PickedCell,
    add_click_layer,
    best_spec_cells,
    cell_choices,
    cell_title,
    cell_trials,
    default_region,
    difference_maps,
    landscapes,
    landscapes_by_schedule,
    picked_cells,
    schedules_of,
    selection_region,
    significance_shown,
)
from studies.dashboard._live import (
    LIVE_METRIC,
    CancelCost,
    LiveView,
    cancel_cost,
    cancel_text,
    live_view,
    provisional_trials,
    running_count,
    signature,
    study_progress,
)
from studies.dashboard._options import ReadOnlyError, is_read_only, options, storage_url
from studies.dashboard._report import best_cells, exports, study_report
from studies.dashboard._runs import (
    RunError,
    RunStatus,
    active_runs,
    cancel_run,
    launch_worker,
    run_error,
    run_log,
    run_status,
    tail,
)
from studies.dashboard._schedules import (
    convert,
    decay_ratios,
    eta_series,
    restart_epochs,
    schedule_spec,
    study_decay_ratios,
)
from studies.dashboard._tables import (
    COUPLING_HELP,
    NEAR_BEST_HELP,
    NOISE_HELP,
    STATE_HELP,
    WD_COLUMN,
    best_default,
    cell_table,
    panel_cells,
    studies_table,
    summary_table,
)
from studies.dashboard._tune import tune_figures
from studies.eta import EtaEstimator, format_duration
from studies.storage import Progress

__all__ = [
    "ALL_SCHEDULES", "CELLS_ROLE", "COUPLING_HELP", "LIVE_METRIC", "NEAR_BEST_HELP", "NOISE_HELP",
    "STATE_HELP", "WD_COLUMN", "CancelCost", "EtaEstimator", "LiveView", "Member", "PickedCell",
    "Progress", "ReadOnlyError", "RunError", "RunStatus", "active_runs", "add_click_layer",
    "add_tune_trials", "added_cells", "best_cells", "best_default", "best_spec_cells",
    "cancel_cost", "cancel_run", "cancel_text", "cell_choices", "cell_table", "cell_title",
    "cell_trials", "check_data", "convert", "decay_ratios", "default_region", "delete",
    "demo_blurb", "difference_maps", "ensure_worker", "eta_series", "exact_text", "existing_spec",
    "exports", "family_fit", "family_members", "form_yaml", "format_duration", "forms",
    "is_read_only", "landscape_caption", "landscapes", "landscapes_by_schedule", "launch",
    "launch_summary", "launch_worker", "live_view", "more_seeds", "options", "panel_cells",
    "picked_cells", "provisional_trials", "read_form", "read_yaml", "refine_plan", "refine_region",
    "remove_added", "restart_epochs", "run_demo", "run_error", "run_log", "run_status",
    "running_count", "schedule_spec", "schedules_of", "selection_region", "signature",
    "significance_shown", "storage_url", "studies_table", "study_decay_ratios", "study_progress",
    "study_report", "summary_table", "tail", "tune_figures",
]
