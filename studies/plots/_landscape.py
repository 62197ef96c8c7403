"""Heatmaps of (α × weight decay) landscapes, one panel per optimizer (the paper's Figure 2)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from studies.analysis import (
    ALPHA,
    Difference,
    Landscape,
    coupling,
    coupling_interval,
    display_name,
    near_best,
)

from ._style import (
    CONVENTION_SYMBOLS,
    CONVENTION_TITLES,
    DIVERGED_COLOR,
    LR_TITLE,
    THEORY_TITLES,
    integer_log2_ticks,
    log2_ticks,
    metric_kind,
    pow2_label,
)
from ._style import metric_label as metric_name

# Trace names, also used by tests and pages to find traces.
BEST_NAME = "best"
DIVERGED_NAME = "diverged"
PARTLY_DIVERGED_NAME = "diverged for some seeds"
COUPLING_NAME = "best λ per α"
NEAR_BEST_NAME = "near best"
ISO_GROUP = "iso"
#: Colour range of error metrics when it must not move (a study filling in): all errors.
ERROR_RANGE = (0.0, 1.0)


def landscape_figure(
    landscapes: Mapping[str, Landscape], *, metric_label: str | None = None,
    show_best: int = 10, show_iso: bool = False, iso_products: Sequence[float] | None = None,
    show_coupling: bool = False, cols: int | None = None, show_near_best: bool = True,
    fixed_range: bool = False) -> go.Figure:
    """Side-by-side landscapes on one shared colour axis (``layout.coloraxis``); the keys of
    ``landscapes`` are the panel titles (optimizer names spelled as in the paper).

    Coordinates are log₂ α (rows, y) and log₂ of the weight decay in the landscapes' convention
    or theory axis (x, titled by :func:`axis_title`), labelled as powers of two; a λ = 0 column
    sits one grid step left of the smallest positive decay, labelled "0" (on the τ_epoch axis
    one step right of the largest τ, labelled "∞"). Rectangular landscapes are heatmaps; sheared
    ones (:class:`~studies.analysis.Landscape`) are square markers at their true (α, wd).
    Overlays: black open circles on the ``show_best`` best cells (the paper's Figure 2), red ×
    on cells whose every seed diverged (thin × where only some did), lines of constant α·wd
    (``iso_products``; with ``show_iso`` and none, through each panel's best cell; off on a
    theory axis, whose columns are the lines of constant s, τ or α·λ), each row's best λ with
    its coupling fit (``show_coupling``), and with ``show_near_best`` an outline on the cells a
    pooled t-test over seeds cannot tell from the panel's best (:func:`studies.analysis.near_best`;
    none with one seed per cell: no noise to test against).

    Lower values are drawn light, on Viridis over the range of all finite values; ``fixed_range``
    pins an error metric to 0–100 % instead, so the colours keep their meaning while a study
    fills in. :func:`~studies.plots.metric_kind` decides the rest: errors in
    percent (colour bar and hover), losses and weight norms on a log₁₀ colour scale labelled in
    their own units, circles on the best cells only for errors and losses.
    """
    if not landscapes:
        raise ValueError("no landscapes to draw")
    if len(conventions := {land.convention for land in landscapes.values()}) != 1:
        raise ValueError(f"landscapes mix weight-decay conventions {sorted(conventions)}")
    (convention,) = conventions
    metrics = {land.metric for land in landscapes.values()}
    label = metric_label or " / ".join(metric_name(m) for m in sorted(metrics))
    kinds = {metric_kind(m) for m in metrics}
    kind = kinds.pop() if len(kinds) == 1 else "other"
    if kind not in ("error", "loss"):
        show_best = 0  # the smallest weight norm is no goal worth circling
    log_colour = kind in ("loss", "norm")
    if convention in THEORY_TITLES:  # lines of constant α·λ would be columns of constant x
        show_iso, iso_products = False, None

    lands, titles = list(landscapes.values()), [display_name(k) for k in landscapes]
    ncols = min(cols or len(lands), len(lands))
    nrows = math.ceil(len(lands) / ncols)
    # Panels right of the first carry α labels only when their rows differ from the first
    # panel's in their row (see below); then the gap must make room for them.
    labelled = any(not np.array_equal(land.lr, lands[p - p % ncols].lr)
                   for p, land in enumerate(lands) if p % ncols)
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=titles,
                        horizontal_spacing=(0.1 if labelled else 0.06) if ncols > 1 else None,
                        vertical_spacing=0.14 if nrows > 1 else None)
    legend_done: set[str] = set()
    for p, (title, land) in enumerate(zip(titles, lands, strict=True)):
        row, col = p // ncols + 1, p % ncols + 1
        _panel(fig, land, row=row, col=col, title=title, metric=label, show_best=show_best,
               show_iso=show_iso, iso_products=iso_products, show_coupling=show_coupling,
               show_near_best=show_near_best, kind=kind, log_colour=log_colour,
               legend_done=legend_done)
        theory = land.convention in THEORY_TITLES
        fig.update_xaxes(title_text=None if theory else axis_title(land), row=row, col=col)
        if theory and col == 1:  # the axis title once per row: under each panel they overlap
            domain = fig.get_subplot(row, col).yaxis.domain
            fig.add_annotation(text=axis_title(land), xref="paper", yref="paper", x=0.5,
                               y=domain[0] - 34 / (380 * nrows - 40), yanchor="top",
                               showarrow=False, font={"size": 13})
        if col == 1:
            fig.update_yaxes(title_text=LR_TITLE, row=row, col=col)
            row_lr = land.lr
        elif np.array_equal(land.lr, row_lr):
            # Same α rows as the panel on its left: its labels would only crowd the gap
            # between the panels (and overlap it on a narrow window).
            fig.update_yaxes(showticklabels=False, row=row, col=col)

    finite = np.concatenate([land.value[np.isfinite(land.value)] for land in lands])
    cmin, cmax = (ERROR_RANGE if fixed_range and kind == "error" else
                  (float(finite.min()), float(finite.max())) if finite.size else (None, None))
    colorbar: dict = {"title": {"text": label}} | ({"tickformat": ".0%"} if kind == "error" else {})
    if log_colour:
        positive = finite[finite > 0]
        lo = cmin if cmin is not None and cmin > 0 else (positive.min() if positive.size else 1)
        hi = cmax if cmax is not None and cmax > 0 else (positive.max() if positive.size else 10)
        cmin, cmax = math.log10(lo), math.log10(max(hi, lo * 1.0001))
        colorbar.update(_log_colorbar_ticks(cmin, cmax))
    fig.update_layout(coloraxis={"colorscale": "Viridis", "reversescale": True, "cmin": cmin,
                                 "cmax": cmax, "colorbar": colorbar})
    low = convention in THEORY_TITLES  # the legend goes below a theory axis' definition
    return _finish(fig, height=380 * nrows + (110 if low else 80),
                   legend_y=-(0.36 if low else 0.2) / nrows)


def axis_title(land: Landscape) -> str:
    """The weight-decay axis' title: its convention, or a theory axis' definition with the η̄
    (and S) its coordinates were computed with."""
    if land.convention not in THEORY_TITLES or land.convention == "alpha_lambda":
        return (CONVENTION_TITLES | THEORY_TITLES)[land.convention]
    eta = f"η̄ = mean schedule multiplier over the run = {land.eta_mean:.3g}"
    if not math.isclose(land.decay_eta, land.eta_mean, rel_tol=1e-6):
        eta += f"; λ_norm recomputed per period: s = {land.decay_eta:.3g}·λ₀"
    if land.convention == "tau_epoch":
        eta += f"; S = {land.steps_per_epoch:.0f} steps per epoch"
    return f"{THEORY_TITLES[land.convention]}<br>{eta}"


def _finish(fig: go.Figure, *, height: int, legend_y: float, **layout) -> go.Figure:
    """The layout every heatmap figure shares: white background, legend below, plain axes."""
    fig.update_layout(height=height, margin={"t": 60, "b": 90}, plot_bgcolor="white",
                      legend={"orientation": "h", "yanchor": "top", "y": legend_y, "x": 0.0},
                      **layout)
    fig.update_xaxes(showgrid=False, zeroline=False, ticks="outside")
    fig.update_yaxes(showgrid=False, zeroline=False, ticks="outside")
    return fig


def _panel(fig: go.Figure, land: Landscape, *, row: int, col: int, title: str, metric: str,
           show_best: int, show_iso: bool, iso_products: Sequence[float] | None,
           show_coupling: bool, show_near_best: bool, kind: str, log_colour: bool,
           legend_done: set[str]) -> None:
    x, zero_x, x_step = _log2_decay(land.cell_wd)
    y, v = np.log2(land.cell_lr), land.value
    y_step = _step(y[:, 0])
    # The colour axis of a log-coloured metric is log₁₀ of it; hover shows the value itself.
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(np.isfinite(v) & (v > 0), np.log10(v), np.nan) if log_colour else v
    custom = np.stack([land.cell_lr, land.cell_wd, land.value, land.std, land.n_seeds,
                       land.n_diverged, land.n_unfinished], axis=-1)
    spread = ("%{customdata[2]:.2%} ± %{customdata[3]:.2%}" if kind == "error"
              else "%{customdata[2]:.4g} ± %{customdata[3]:.2g}")
    hover = ("α = %{customdata[0]:.4g}<br>" + CONVENTION_SYMBOLS[land.convention]
             + " = %{customdata[1]:.4g}<br>" + metric + " = " + spread + "<br>seeds: "
             "%{customdata[4]}, diverged: %{customdata[5]}, running: %{customdata[6]}"
             + f"<extra>{title}</extra>")
    if land.rectangular:
        fig.add_trace(go.Heatmap(x=x[0], y=y[:, 0], z=z, customdata=custom, hovertemplate=hover,
                                 hoverongaps=False, coloraxis="coloraxis", name=title, xgap=1,
                                 ygap=1), row=row, col=col)
        xticks = log2_ticks(land.wd, zero_at=zero_x, max_ticks=7)
    else:
        ok = np.isfinite(land.value)
        marker = {"symbol": "square", "size": 14, "color": z[ok], "coloraxis": "coloraxis"}
        fig.add_trace(go.Scatter(x=x[ok], y=y[ok], mode="markers", marker=marker,
                                 customdata=custom[ok], hovertemplate=hover, name=title,
                                 showlegend=False), row=row, col=col)
        positive = x[np.isfinite(land.cell_wd) & (land.cell_wd > 0)]
        xticks = integer_log2_ticks(positive.min(), positive.max()) if positive.size else ([], [])
        if zero_x is not None:
            xticks = ([zero_x, *xticks[0]], ["0", *xticks[1]])
    if np.isinf(land.cell_wd).any():  # λ = 0 on the τ_epoch axis
        xticks = ([*xticks[0], float(x[np.isinf(land.cell_wd)].max())], [*xticks[1], "∞"])

    # The t-test is on cell means: no outline over a median or a minimum across seeds. With
    # one seed (no noise measured) only the best cell would be "near" it: no outline either.
    if (show_near_best and kind in ("error", "loss") and land.aggregate == "mean"
            and (found := near_best(land)).noise.measured):
        size, near = max(8.0, min(34.0, 260.0 / max(land.shape))), found.mask
        _overlay(fig, row, col, legend_done, name=NEAR_BEST_NAME, x=x[near], y=y[near],
                 marker={"symbol": "square-open", "size": size, "color": "#222222",
                         "line": {"width": 1.5}}, legend_text="not distinguishable from the "
                 f"best (t-test over seeds, {100 * ALPHA:g} %)")
    if best := land.best(show_best) if show_best > 0 else []:
        rows_, cols_ = np.array(best).T
        _overlay(fig, row, col, legend_done, name=BEST_NAME, x=x[rows_, cols_],
                 y=y[rows_, cols_], legend_text=f"{show_best} best",
                 marker={"symbol": "circle-open", "size": 17, "color": "black",
                         "line": {"width": 2}})
    for name, mask, symbol in (
        (DIVERGED_NAME, land.diverged, "x"),
        (PARTLY_DIVERGED_NAME, (land.n_diverged > 0) & ~land.diverged, "x-thin-open"),
    ):
        if mask.any():
            cells = zip(land.cell_lr[mask], land.cell_wd[mask], land.diverged_fraction[mask],
                        strict=True)
            _overlay(fig, row, col, legend_done, name=name, x=x[mask], y=y[mask],
                     marker={"symbol": symbol, "size": 11, "color": DIVERGED_COLOR,
                             "line": {"width": 2, "color": DIVERGED_COLOR}},
                     hovertext=[f"α = {a:.4g}, {CONVENTION_SYMBOLS[land.convention]} = {w:.4g}"
                                f"<br>diverged: {f:.0%} of seeds" for a, w, f in cells])

    y_range = [float(y.min() - y_step / 2), float(y.max() + y_step / 2)]
    x_range = [float(np.nanmin(x) - x_step / 2), float(np.nanmax(x) + x_step / 2)]
    products = list(iso_products) if iso_products is not None else []
    if show_iso and iso_products is None and best:
        products = [float(land.cell_lr[best[0]] * land.cell_wd[best[0]])]
    for c in products:
        _iso_line(fig, row, col, legend_done, land=land, product=c, y_range=y_range)
    if show_coupling:
        _coupling_overlay(fig, row, col, land=land, y_range=y_range, title=title)

    yticks = log2_ticks(land.lr, max_ticks=10)
    # Horizontal, thinned labels: rotated ones push the axis title into the legend on a
    # narrow (800 px) window.
    fig.update_xaxes(tickvals=xticks[0], ticktext=xticks[1], range=x_range, tickangle=0,
                     row=row, col=col)
    fig.update_yaxes(tickvals=yticks[0], ticktext=yticks[1], range=y_range, row=row, col=col)


def _overlay(fig: go.Figure, row: int, col: int, legend_done: set[str], *, name: str,
             x: np.ndarray, y: np.ndarray, marker: dict, legend_text: str | None = None,
             hovertext: list[str] | None = None) -> None:
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", marker=marker, name=legend_text or name,
                             legendgroup=name, showlegend=name not in legend_done,
                             hoverinfo="text" if hovertext else "skip", hovertext=hovertext,
                             meta={"role": name}), row=row, col=col)
    legend_done.add(name)


def _iso_line(fig: go.Figure, row: int, col: int, legend_done: set[str], *, land: Landscape,
              product: float, y_range: list[float]) -> None:
    """α · wd = c is the straight line x = log₂ c − y in log₂ coordinates.

    On a PyTorch axis α·wd is the per-step shrink (η_t = 1) and τ = 1/(α·wd) the timescale, in
    steps, of the moving average of updates AdamW computes (Wang & Aitchison, 2024). On the
    paper's λ axis the per-step shrink is λ itself, and α·λ = c marks instead where an L2
    coefficient λ under SGD acts like the same decoupled decay α·λ: SGD+L2's diagonal valley.
    """
    y = np.linspace(*y_range, 2)
    c2 = math.log2(product)
    symbol = {"paper": "λ", "pytorch": "wd", "normalized": "λ_norm"}[land.convention]
    name = f"α·{symbol} = {pow2_label(c2) if abs(c2 - round(c2)) < 1e-9 else f'{product:.3g}'}"
    if land.convention == "pytorch":
        name += f" (τ = {1 / product:.3g} steps)"
    group = f"{ISO_GROUP}:{product:.12g}"
    fig.add_trace(go.Scatter(x=c2 - y, y=y, mode="lines", name=name, legendgroup=group,
                             line={"color": "grey", "dash": "dash", "width": 1.5},
                             showlegend=group not in legend_done, hoverinfo="name",
                             meta={"role": ISO_GROUP, "product": product}), row=row, col=col)
    legend_done.add(group)


def _coupling_overlay(fig: go.Figure, row: int, col: int, *, land: Landscape,
                      y_range: list[float], title: str) -> None:
    """Each row's refined best λ and the OLS line log₂ λ* = a + b·log₂ α, in the axis's
    convention. The legend gives the slope with its 95 % interval from the seed noise
    (:func:`studies.analysis.coupling_interval`) when the study measured one, else the
    fit's standard error."""
    if (fit := coupling(land)).n_rows == 0:
        return
    shown = land.to_axis(fit.best_wd, fit.lr)
    interval = coupling_interval(land) if land.aggregate == "mean" else None
    spread = (f"[{interval.low:+.2f}, {interval.high:+.2f}]"
              if interval is not None and interval.measured else f"± {fit.stderr:.2f} (fit)")
    paper = "" if land.convention == "paper" else " (paper λ)"
    slope = (f"slope {fit.slope:+.2f} {spread}" if math.isfinite(fit.slope) else
             f"no slope: {fit.n_rows} rows with a best λ inside the grid, 3 needed")
    label = f"{title}: {COUPLING_NAME}{paper}, {slope}"
    fig.add_trace(go.Scatter(x=np.log2(shown), y=np.log2(fit.lr), mode="markers", name=label,
                             marker={"symbol": "diamond", "size": 8, "color": "white",
                                     "line": {"width": 1}},
                             hoverinfo="skip", meta={"role": COUPLING_NAME}), row=row, col=col)
    if math.isfinite(fit.slope):
        ly = np.linspace(*y_range, 2)
        lam = 2.0 ** (fit.intercept + fit.slope * ly)
        fig.add_trace(go.Scatter(x=np.log2(land.to_axis(lam, 2.0**ly)), y=ly, mode="lines",
                                 showlegend=False, line={"color": "white", "width": 1.5},
                                 hoverinfo="skip", meta={"role": COUPLING_NAME}), row=row, col=col)


def _log_colorbar_ticks(lo: float, hi: float) -> dict:
    """Colour-bar ticks for a log₁₀ colour axis spanning [lo, hi], labelled in the metric's
    own units at 1-2-5 steps of each decade (decades alone when it spans many)."""
    mantissas = (1, 2, 5) if hi - lo <= 3 else (1,)
    ticks = [math.log10(m) + d for d in range(math.floor(lo), math.ceil(hi) + 1)
             for m in mantissas]
    ticks = [t for t in ticks if lo - 1e-9 <= t <= hi + 1e-9] or [lo, hi]
    return {"tickvals": ticks, "ticktext": [f"{10**t:.3g}" for t in ticks]}


def _log2_decay(wd: np.ndarray) -> tuple[np.ndarray, float | None, float]:
    """log₂ of weight decays, with λ = 0 one grid step left of the smallest positive one and
    ∞ one step right of the largest finite one; the x of 0 (None without a zero), the step."""
    positive = wd > 0
    x = np.full(wd.shape, np.nan)
    x[positive] = np.log2(wd[positive])
    step = _step(x[positive & np.isfinite(wd)])
    finite = x[np.isfinite(x)]
    x[np.isinf(x)] = (finite.max() if finite.size else 0.0) + step
    zero_x = None
    if (~positive).any():
        zero_x = float(np.min(x[positive]) - step) if positive.any() else 0.0
        x[~positive] = zero_x
    return x, zero_x, step


def _step(values: np.ndarray) -> float:
    """Median spacing of the distinct values (1 if fewer than two)."""
    v = np.unique(np.round(np.asarray(values, dtype=float), 9))
    return float(np.median(np.diff(v))) if v.size > 1 else 1.0


#: ``meta.role`` of the markers on cells whose difference exceeds the seed noise.
SIGNIFICANT_NAME = "beyond noise"


def difference_figure(diff: Difference) -> go.Figure:
    """Heatmap of ``diff.value`` (minuend − subtrahend) on a diverging colour scale centred
    on 0, rows log₂ α, columns log₂ λ (paper): blue where the minuend is better (lower),
    red where it is worse. A dot marks each cell whose difference exceeds the seed noise
    (two-sided pooled t-test, :func:`studies.analysis.difference`); with one seed per cell
    no noise was measured and the title says so (in short lines: the map usually sits in a
    narrow column beside the heatmaps)."""
    a, b = display_name(diff.minuend), display_name(diff.subtrahend)
    if not (diff.wd_paper > 0).any():
        raise ValueError("a difference map needs weight decays above 0")
    x, zero_x, _ = _log2_decay(diff.wd_paper)
    y = np.log2(diff.lr)
    reach = float(np.nanmax(np.abs(diff.value))) if np.isfinite(diff.value).any() else 1.0
    percent = metric_kind(diff.metric) == "error"
    fmt = ".2%" if percent else ".4g"
    hover = ("α = %{customdata[0]:.4g}<br>λ (paper) = %{customdata[1]:.4g}<br>"
             f"{a} − {b} = %{{z:+{fmt}}}<br>p = %{{customdata[2]:.2g}}<extra></extra>")
    cell_lr, cell_wd = np.meshgrid(diff.lr, diff.wd_paper, indexing="ij")
    fig = go.Figure(go.Heatmap(
        x=x, y=y, z=diff.value, zmid=0.0, zmin=-reach, zmax=reach, colorscale="RdBu",
        reversescale=True,  # negative (minuend better) blue, positive red
        customdata=np.stack([cell_lr, cell_wd, diff.p], axis=-1), hovertemplate=hover,
        hoverongaps=False, xgap=1, ygap=1, name=f"{a} − {b}",
        colorbar={"title": {"text": f"{a} − {b}"}, "tickformat": "+.1%" if percent else ""}))
    rows, cols = np.nonzero(diff.significant)
    if rows.size:
        fig.add_trace(go.Scatter(x=x[cols], y=y[rows], mode="markers",
                                 marker={"symbol": "circle", "size": 6, "color": "black"},
                                 name=f"beyond the seed noise (t-test, {100 * ALPHA:g} %)",
                                 hoverinfo="skip", meta={"role": SIGNIFICANT_NAME}))
    noise = (f"• beyond seed noise: {diff.significant.sum()} of {diff.n_cells} cells"
             if diff.noise.measured else "one seed: no noise measured")
    xticks = log2_ticks(diff.wd_paper, max_ticks=3, zero_at=zero_x)
    yticks = log2_ticks(diff.lr, max_ticks=8)
    fig.update_xaxes(title_text=CONVENTION_TITLES["paper"], tickvals=xticks[0],
                     ticktext=xticks[1], tickangle=0)
    fig.update_yaxes(title_text=LR_TITLE, tickvals=yticks[0], ticktext=yticks[1])
    return _finish(fig, height=460, legend_y=-0.2, showlegend=bool(rows.size),
                   title={"text": f"{a} − {b}<br><sup>blue: {a} lower · {noise}</sup>",
                          "font": {"size": 14}, "x": 0.0, "xanchor": "left"})
