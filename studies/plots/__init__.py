"""Plotly figures of studies.analysis results: no file I/O, no Streamlit.

* :func:`landscape_figure` — (α × weight decay) heatmaps on one colour axis, best cells
  circled, diverged cells crossed, axes labelled with their weight-decay convention or
  theory coordinate (:func:`axis_title`: s = η̄·λ, τ_epoch, α·λ).
* :func:`difference_figure` — one optimizer minus another, cells beyond the seed noise dotted.
* :func:`curves_figure` — training loss and test error against epoch, mean ± spread.
* :func:`schedule_figure` — η_t against epoch.
* :func:`transfer_figure` — a transfer family's best λ against N or width, fits, references.

Colours: :data:`OPTIMIZER_COLORS` gives the four optimizers four clearly different hues.
"""

from __future__ import annotations

from ._curves import BANDS, curves_figure, equilibrium_figure, schedule_figure
from ._landscape import (
    BEST_NAME,
    COUPLING_NAME,
    DIVERGED_NAME,
    ERROR_RANGE,
    ISO_GROUP,
    NEAR_BEST_NAME,
    PARTLY_DIVERGED_NAME,
    SIGNIFICANT_NAME,
    axis_title,
    difference_figure,
    landscape_figure,
)
from ._style import (
    CONVENTION_SYMBOLS,
    CONVENTION_TITLES,
    LR_TITLE,
    METRIC_LABELS,
    OPTIMIZER_COLORS,
    log2_ticks,
    metric_kind,
    metric_label,
    optimizer_color,
    pow2_label,
)
from ._transfer import X_TITLES, transfer_figure

__all__ = [
    "BANDS", "BEST_NAME", "CONVENTION_SYMBOLS", "CONVENTION_TITLES", "COUPLING_NAME",
    "DIVERGED_NAME", "ERROR_RANGE", "ISO_GROUP", "LR_TITLE", "METRIC_LABELS", "NEAR_BEST_NAME",
    "OPTIMIZER_COLORS", "PARTLY_DIVERGED_NAME", "SIGNIFICANT_NAME", "X_TITLES", "axis_title",
    "curves_figure", "difference_figure", "equilibrium_figure", "landscape_figure", "log2_ticks",
    "metric_kind", "metric_label", "optimizer_color", "pow2_label", "schedule_figure",
    "transfer_figure",
]
