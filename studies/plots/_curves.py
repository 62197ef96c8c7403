"""Learning curves (the paper's Figure 3), rotational equilibrium, and η_t against epoch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from studies.analysis import Cell, equilibrium_curves, learning_curves

from ._style import metric_kind, metric_label, optimizer_color, rgba

BANDS = ("std", "minmax", None)
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def curves_figure(curves: pd.DataFrame, trials: pd.DataFrame, *,
                  trial_numbers: Sequence[int] | None = None, cells: Sequence[Cell] | None = None,
                  metrics: Sequence[str] = ("train_loss", "test_error"), band: str | None = "std",
                  log_loss: bool = True) -> go.Figure:
    """One subplot per metric against epoch; one line per selected cell (mean over seeds).

    The band is mean ± std over seeds (``"std"``; absent with one seed), the seeds' min–max
    (``"minmax"``) or nothing (``None``). Colours follow the optimizer (the same palette as
    every figure); several cells of one optimizer differ by dash. Loss axes are logarithmic
    when ``log_loss``. Cells are selected as in :func:`studies.analysis.learning_curves`.
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {BANDS}, got {band!r}")
    frames = {m: learning_curves(curves, trials, trial_numbers=trial_numbers, cells=cells,
                                 metric=m) for m in metrics}
    fig = make_subplots(rows=1, cols=len(metrics),
                        subplot_titles=[metric_label(m) for m in metrics])
    styles: dict[str, tuple[str, str]] = {}
    per_optimizer: dict[str, int] = {}
    for col, (metric, frame) in enumerate(frames.items(), start=1):
        for label, g in frame.groupby("label", sort=False):
            optimizer = str(g["optimizer"].iloc[0])
            if label not in styles:
                k = per_optimizer.get(optimizer, 0)
                per_optimizer[optimizer] = k + 1
                color = optimizer_color(optimizer, index=len(per_optimizer) - 1)
                styles[label] = (color, _DASHES[k % len(_DASHES)])
            color, dash = styles[label]
            epoch, mean = g["epoch"].to_numpy(), g["mean"].to_numpy(dtype=float)
            lo, hi = _band(g, band)
            if lo is not None and np.isfinite(lo).any():
                fig.add_trace(go.Scatter(
                    x=np.concatenate([epoch, epoch[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                    fill="toself", fillcolor=rgba(color, 0.18), line={"width": 0},
                    hoverinfo="skip", showlegend=False, legendgroup=label, name=f"{label} band",
                    meta={"role": "band", "cell": label}), row=1, col=col)
            fmt = ".2%" if metric_kind(metric) == "error" else ".4g"
            fig.add_trace(go.Scatter(
                x=epoch, y=mean, mode="lines", line={"color": color, "dash": dash, "width": 2},
                name=label, legendgroup=label, showlegend=col == 1, customdata=g["n"].to_numpy(),
                hovertemplate=f"epoch %{{x}}: %{{y:{fmt}}} (%{{customdata}} seeds)"
                              f"<extra>{label}</extra>",
                meta={"role": "mean", "cell": label}), row=1, col=col)
        fig.update_xaxes(title_text="epoch", row=1, col=col)
        fig.update_yaxes(title_text=metric_label(metric), row=1, col=col,
                         type="log" if log_loss and "loss" in metric else None,
                         tickformat=".0%" if metric_kind(metric) == "error" else None)
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.2}, height=420)
    return fig


def equilibrium_figure(curves: pd.DataFrame, trials: pd.DataFrame, *, cells: Sequence[Cell],
                       momentum: float = 0.9, beta1: float = 0.9,
                       decay_ratios: Mapping[str, Sequence[float]] | None = None) -> go.Figure:
    """Per cell, ``angular_update_bn`` (log axis) and, dotted, its predicted equilibrium
    (:func:`studies.analysis.equilibrium_curves`, ``decay_ratios`` included)."""
    frame = equilibrium_curves(curves, trials, cells=cells, momentum=momentum, beta1=beta1,
                               decay_ratios=decay_ratios)
    fig = go.Figure()
    for k, (label, g) in enumerate(frame.groupby("label", sort=False)):
        color = optimizer_color(str(g["optimizer"].iloc[0]), index=k)
        for role, y, style in (("measured", g["mean"], {"dash": _DASHES[k % 6], "width": 2}),
                               ("predicted", g["predicted"], {"dash": "dot", "width": 1.5})):
            if (y.to_numpy(dtype=float) > 0).any():  # none for Adam + L2, nor for λ = 0
                fig.add_trace(go.Scatter(
                    x=g["epoch"], y=y, mode="lines", line={"color": color, **style},
                    name=f"{label} {role}", legendgroup=label, meta={"role": role, "cell": label},
                    hovertemplate=f"epoch %{{x}}: %{{y:.3g}} rad<extra>{label} {role}</extra>"))
    # Anchored at its top: at 800 px the four entries wrap to two rows, which a legend anchored
    # at its bottom drew over the epoch ticks.
    fig.update_layout(xaxis_title="epoch", yaxis_title="∠(W_t, W_{t+1}) per step (rad)",
                      yaxis_type="log", height=420,
                      legend={"orientation": "h", "yanchor": "top", "y": -0.2})
    return fig


def schedule_figure(series: Mapping[str, tuple[Sequence[float], Sequence[float]]]) -> go.Figure:
    """η_t (the schedule multiplier; the learning rate is α·η_t) against epoch, one line each.

    ``series`` maps a name to (epochs, η values); epochs may be fractional (per batch).
    Optimizer names get their palette colour.
    """
    fig = go.Figure()
    for k, (name, (epochs, eta)) in enumerate(series.items()):
        x, y = np.asarray(epochs, dtype=float), np.asarray(eta, dtype=float)
        if x.shape != y.shape:
            raise ValueError(f"series {name!r}: epochs and η_t differ in length")
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines", name=name, line={"color": optimizer_color(name, index=k)},
            hovertemplate="epoch %{x:.3g}: η = %{y:.4g}<extra>" + name + "</extra>"))
    fig.update_layout(xaxis_title="epoch", yaxis_title="schedule multiplier η_t",
                      height=360, legend={"orientation": "h", "yanchor": "top", "y": -0.2})
    return fig


def _band(g: pd.DataFrame, band: str | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    if band is None:
        return None, None
    if band == "std":
        mean, std = g["mean"].to_numpy(dtype=float), g["std"].to_numpy(dtype=float)
        return mean - std, mean + std
    return g["min"].to_numpy(dtype=float), g["max"].to_numpy(dtype=float)
