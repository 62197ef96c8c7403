"""Figures as the dashboard shows them: studies.analysis + studies.plots, made clickable.

The analysis and the drawing live in :mod:`studies.analysis` and :mod:`studies.plots`; this
module only picks what to draw for a study (one landscape per optimizer, in the paper's
order) and adds what an interactive page needs: Plotly's selection events do not report
heatmap cells, so each panel gets a transparent layer of square markers, one per cell, that
carries the cell's identity. Clicking a cell selects its marker; a box or lasso selects a
region (the Refine panel reads its bounds).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from studies.analysis import OPTIMIZER_ORDER, Cell, Landscape, display_name, landscape
from studies.spec import Cell as SpecCell

#: ``meta.role`` of the transparent click layer, and its trace name.
CELLS_ROLE = "cells"


def optimizers_of(trials: pd.DataFrame) -> list[str]:
    """Optimizers present in ``trials``: the paper's order (SGD, SGDW, Adam, AdamW) first."""
    present = [str(o) for o in trials["optimizer"].dropna().unique()]
    return ([o for o in OPTIMIZER_ORDER if o in present]
            + sorted(o for o in present if o not in OPTIMIZER_ORDER))


def schedules_of(trials: pd.DataFrame) -> list[str]:
    return sorted(str(s) for s in trials["schedule"].dropna().unique())


def landscapes(trials: pd.DataFrame, *, metric: str = "final_test_error",
               convention: str = "paper", aggregate: str = "mean", schedule: str | None = None,
               optimizers: Sequence[str] | None = None) -> dict[str, Landscape]:
    """One landscape per optimizer that has trials (under ``schedule``), in display order.

    Trials without an optimizer or a learning rate (a study not made by this tool, a tune
    trial not started yet) are left out. Raises ``ValueError`` from the analysis, e.g. when
    the normalized convention cannot be shown because the normalization factor is unknown.
    """
    usable = usable_trials(trials)
    if schedule is not None:
        usable = usable[usable["schedule"] == schedule]
    return {o: landscape(sub, optimizer=o, metric=metric, convention=convention,
                         schedule=schedule, aggregate=aggregate)
            for o in optimizers or optimizers_of(usable)
            if not (sub := usable[usable["optimizer"] == o]).empty}


def usable_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials with an optimizer, α and λ: a tune trial not started yet has none."""
    return trials[trials["optimizer"].notna() & np.isfinite(trials["lr"].astype(float))
                  & np.isfinite(trials["wd_paper"].astype(float))]


#: The schedule choice that draws every schedule, one row of panels each (Figure 1).
ALL_SCHEDULES = "all (one row each)"


def landscapes_by_schedule(trials: pd.DataFrame, *, metric: str = "final_test_error",
                           convention: str = "paper", aggregate: str = "mean"
                           ) -> dict[str, Landscape]:
    """Every (schedule, optimizer) landscape, keyed ``"AdamW · cosine"``, schedule by
    schedule: with ``cols`` = the number of optimizers, the paper's Figure 1 layout."""
    return {f"{display_name(optimizer)} · {schedule}": land for schedule in schedules_of(trials)
            for optimizer, land in landscapes(trials, metric=metric, convention=convention,
                                              aggregate=aggregate, schedule=schedule).items()}


def add_click_layer(fig: go.Figure, lands: Mapping[str, Landscape]) -> go.Figure:
    """Add one transparent, selectable marker per cell to every panel of a landscape figure
    (in place; returns ``fig``).

    Each marker's ``customdata`` (one float matrix, sent as a typed array) is the cell's
    hover numbers (α, weight decay, value, std, seeds, diverged, running) followed by the
    optimizer's position in ``lands``, row and column (read back by :func:`picked_cells`); the
    layer takes over the heatmap's hover text. Overlays keep full opacity while something is
    selected.
    """
    traces = list(fig.data)
    for index, (optimizer, land) in enumerate(lands.items()):
        title = display_name(optimizer)
        panel = next((t for t in traces if t.name == title and t.type in ("heatmap", "scatter")
                      and (t.meta is None or not isinstance(t.meta, dict))), None)
        if panel is None:
            continue
        rows, cols = np.indices(land.shape)
        hover = panel.hovertemplate
        if panel.type == "heatmap":
            px, py = np.asarray(panel.x, dtype=float), np.asarray(panel.y, dtype=float)
            x, y = px[cols.ravel()], py[rows.ravel()]
            keep = np.ones(x.shape, dtype=bool)
            panel.update(hoverinfo="skip")
        else:  # a sheared landscape: markers at their true coordinates, finite cells only
            keep = np.isfinite(land.value).ravel()
            x, y = np.full(keep.shape, np.nan), np.full(keep.shape, np.nan)
            x[keep], y[keep] = np.asarray(panel.x, dtype=float), np.asarray(panel.y, dtype=float)
            panel.update(hoverinfo="skip", hovertemplate=None)
        custom = np.column_stack([
            land.cell_lr.ravel(), land.cell_wd.ravel(), land.value.ravel(), land.std.ravel(),
            land.n_seeds.ravel(), land.n_diverged.ravel(), land.n_unfinished.ravel(),
            np.full(land.value.size, float(index)), rows.ravel(), cols.ravel(),
        ]).astype(float)[keep]
        if hover and not np.isfinite(land.std).any():  # one seed per cell: no spread to show
            hover = re.sub(r" ± %\{customdata\[3\]:[^}]*\}", "", hover)
        size = max(6.0, min(40.0, 300.0 / max(land.shape)))
        fig.add_trace(go.Scatter(
            x=x[keep], y=y[keep], mode="markers",
            marker={"symbol": "square", "size": size, "opacity": 0.0, "color": "white"},
            selected={"marker": {"opacity": 0.45, "color": "white"}},
            unselected={"marker": {"opacity": 0.0}}, customdata=custom, hovertemplate=hover,
            name=CELLS_ROLE, showlegend=False, meta={"role": CELLS_ROLE, "optimizer": optimizer},
            xaxis=panel.xaxis, yaxis=panel.yaxis))
    for trace in fig.data:  # selecting a cell must not fade the circles and crosses
        meta = trace.meta if isinstance(trace.meta, dict) else {}
        if trace.type == "scatter" and meta.get("role") != CELLS_ROLE:
            trace.update(unselected={"marker": {"opacity": 1.0}})
    fig.update_layout(clickmode="event+select", hovermode="closest")
    return fig


@dataclass(frozen=True)
class PickedCell:
    """A landscape cell a user clicked."""

    optimizer: str
    row: int
    col: int
    lr: float  # α
    wd: float  # weight decay in the convention the figure showed


def cell_title(cell: PickedCell, convention: str) -> str:
    """``"AdamW · α = 2⁻⁸ (0.003906) · λ (paper) = 0.0156"``: powers of two as the axes
    show them."""
    from studies.dashboard._tables import grid_value
    from studies.plots import CONVENTION_SYMBOLS

    return (f"{display_name(cell.optimizer)} · α = {grid_value(cell.lr)} · "
            f"{CONVENTION_SYMBOLS[convention]} = {grid_value(cell.wd)}")


def picked_cells(points: Iterable[Mapping[str, Any]], optimizers: Sequence[str]
                 ) -> list[PickedCell]:
    """Cells of a Plotly selection event's ``points`` that belong to a click layer;
    ``optimizers``: the keys of the landscapes the figure was drawn from, in order."""
    out = []
    for p in points:
        data = p.get("customdata")
        with contextlib.suppress(TypeError, ValueError, IndexError):
            if isinstance(data, Mapping):  # a typed-array row arrives as {"0": ..., "1": ...}
                data = [data[k] for k in sorted(data, key=int)]
            if isinstance(data, list | tuple) and len(data) >= 10:
                out.append(PickedCell(optimizer=optimizers[int(data[7])], row=int(data[8]),
                                      col=int(data[9]), lr=float(data[0]), wd=float(data[1])))
    return out


def _land_of(lands: Mapping[str, Landscape], c: PickedCell) -> Landscape | None:
    """The picked cell's landscape, if it still has that cell."""
    land = lands.get(c.optimizer)
    return land if land and 0 <= c.row < land.shape[0] and 0 <= c.col < land.shape[1] else None


def cell_trials(lands: Mapping[str, Landscape], cell: PickedCell) -> tuple[int, ...]:
    """Trial numbers of a picked cell (empty if the landscape no longer has it)."""
    return tuple(land.trials[cell.row, cell.col]) if (land := _land_of(lands, cell)) else ()


def selection_region(lands: Mapping[str, Landscape], cells: Sequence[PickedCell]
                     ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """((α min, α max), (wd min, wd max)) spanned by the picked cells, the weight decay in
    the landscapes' *grid* convention (the one the study's cells are written in); None when
    nothing usable is picked. A λ = 0 column is left out (a log grid cannot start at 0)."""
    picked = [(land, c) for c in cells if (land := _land_of(lands, c))]
    lrs = [float(land.lr[c.row]) for land, c in picked]
    wds = [wd for land, c in picked if (wd := float(land.grid_wd[c.col])) > 0]
    if not lrs or not wds:
        return None
    return (min(lrs), max(lrs)), (min(wds), max(wds))


def cell_choices(trials: pd.DataFrame, *, metric: str = "final_test_error", limit: int = 400
                 ) -> dict[str, Cell]:
    """Label → cell for a picker: every (optimizer, schedule, α, λ) of the study, each
    optimizer's best first (by ``metric``, mean over seeds), at most ``limit`` in all.
    Labels do not change as results come in, so a picker keeps its choice."""
    usable = usable_trials(trials)
    if usable.empty:
        return {}
    several = usable["schedule"].nunique() > 1
    stats = (usable.assign(v=pd.to_numeric(usable[metric], errors="coerce"))
             .groupby(["optimizer", "schedule", "lr", "wd_paper"], sort=False)["v"].mean()
             .reset_index())
    order = {o: k for k, o in enumerate(optimizers_of(usable))}
    stats["o"] = stats["optimizer"].map(order)
    stats = stats.sort_values(["o", "v"], na_position="last")
    per = max(1, limit // max(1, len(order)))
    stats = stats.groupby("optimizer", sort=False).head(per)
    out: dict[str, Cell] = {}
    for r in stats.itertuples(index=False):
        label = (f"{display_name(r.optimizer)} · α={r.lr:.3g} · λ={r.wd_paper:.3g}"
                 + (f" · {r.schedule}" if several else ""))
        out[label] = Cell(optimizer=r.optimizer, lr=float(r.lr), wd_paper=float(r.wd_paper),
                          schedule=str(r.schedule))
    return out


def default_region(lands: Mapping[str, Landscape]
                   ) -> tuple[tuple[float, float], tuple[float, float]]:
    """The region a refinement starts from when none is selected: one grid step around the
    best cell of the first landscape (weight decay in the grid convention, > 0)."""
    land = next(iter(lands.values()))
    i, j = best[0] if (best := land.best(1)) else (land.shape[0] // 2, land.shape[1] // 2)
    rows = land.lr[max(i - 1, 0)], land.lr[min(i + 1, land.shape[0] - 1)]
    positive = [float(w) for w in land.grid_wd if w > 0] or [1e-4]
    k = min(max(int((land.grid_wd[: j + 1] > 0).sum()) - 1, 0), len(positive) - 1)
    cols = positive[max(k - 1, 0)], positive[min(k + 1, len(positive) - 1)]
    return (float(rows[0]), float(rows[1])), (cols[0], cols[1])


def best_spec_cells(lands: Mapping[str, Landscape], k: int, *, convention: str
                    ) -> list[SpecCell]:
    """The ``k`` best cells of each landscape as spec cells (weight decay in the grid's
    convention ``convention``; the seed is a placeholder for :func:`more_seeds`)."""
    return [SpecCell(optimizer=land.optimizer, lr=float(land.lr[i]),
                     weight_decay=float(land.grid_wd[j]), seed=0, schedule=str(land.schedule),
                     convention=convention) for land in lands.values() for i, j in land.best(k)]


def significance_shown(aggregate: str, schedule: str | None) -> bool:
    """Whether difference maps and sentences apply: the seed-noise tests behind them are made
    on the mean over seeds, of one schedule at a time."""
    return aggregate == "mean" and schedule != ALL_SCHEDULES


def difference_maps(lands: Mapping[str, Landscape]) -> dict[str, go.Figure]:
    """One difference map per (decoupled, L2) twin pair of ``lands`` (AdamW − Adam,
    SGDW − SGD; :func:`studies.plots.difference_figure`), keyed by its title. A pair whose
    grids share no cell, or are not rectangular in the paper's λ, has none."""
    from studies.analysis import difference
    from studies.dashboard._captions import twin_pairs
    from studies.plots import difference_figure

    out: dict[str, go.Figure] = {}
    for d, c in twin_pairs(lands):
        try:
            diff = difference(lands[d], lands[c])
        except ValueError:
            continue
        if diff.n_cells:
            out[f"{display_name(d)} − {display_name(c)}"] = difference_figure(diff)
    return out
