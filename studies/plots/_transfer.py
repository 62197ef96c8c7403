"""A transfer family's best λ against the data size (or width), the fits and both references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from studies.analysis import HYPOTHESES, display_name

from ._style import CONVENTION_TITLES, optimizer_color

X_TITLES = {"data": "training points N (the study's train_size; log scale)",
            "width": "width multiple (every hidden width scaled; log scale)"}


def transfer_figure(points: pd.DataFrame, fits: pd.DataFrame, *, over: str) -> go.Figure:
    """Best paper λ per member and optimizer, with the near-best λ range as an error bar; each
    optimizer's least-squares line, and the slope 0 and slope −1 references drawn through the
    mean of all the points (log-log axes, so a slope is a power of x)."""
    fig = go.Figure()
    for i, (opt, sub) in enumerate(points.groupby("optimizer", sort=False)):
        color, lam = optimizer_color(opt, index=i), sub["best_wd_paper"]
        fig.add_scatter(
            x=sub["x"], y=lam, mode="markers", name=display_name(opt), marker_color=color,
            error_y={"type": "data", "symmetric": False, "array": sub["wd_paper_high"] - lam,
                     "arrayminus": lam - sub["wd_paper_low"]},
            customdata=sub[["study", "best_lr", "n_near_best"]],
            hovertemplate="%{customdata[0]}<br>x = %{x:.4g}<br>best λ (paper) = %{y:.3g}<br>"
            "at α = %{customdata[1]:.3g}; %{customdata[2]} near-best cells<extra></extra>")
    xs = np.log2(points["x"].unique())
    grid = np.linspace(xs.min(), xs.max(), 2) if len(xs) else np.zeros(0)
    for fit in fits.itertuples():
        fig.add_scatter(x=2**grid, y=2 ** (fit.intercept + fit.slope * grid), mode="lines",
                        line={"color": optimizer_color(fit.optimizer), "dash": "dash"},
                        name=f"{display_name(fit.optimizer)} fit: slope {fit.slope:+.2f}")
    positive = points[points["best_wd_paper"] > 0]
    if len(positive) and len(grid):
        x0, y0 = np.log2(positive["x"]).mean(), np.log2(positive["best_wd_paper"]).mean()
        for slope, words in zip((0, -1), HYPOTHESES[over], strict=True):
            fig.add_scatter(x=2**grid, y=2 ** (y0 + slope * (grid - x0)), mode="lines",
                            line={"color": "gray", "dash": "dot" if slope else "solid",
                                  "width": 1}, name=f"slope {slope}: {words}")
    fig.update_layout(
        xaxis={"type": "log", "title": X_TITLES[over]},
        yaxis={"type": "log", "title": f"best {CONVENTION_TITLES['paper']}<br>(bar: the "
               "near-best cells' range)"},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25}, margin={"t": 30})
    return fig
