"""Landscape (Figures 1 and 2): one heatmap per optimizer, the summary, a cell's curves, and
Refine to add a finer grid, more seeds, or more tune trials while the study runs."""

from __future__ import annotations

import streamlit as st

from studies import dashboard as dash
from views import _components as ui
from views import _sections as sections
from views import _transfer as transfer


def render() -> None:
    ctx = ui.context()
    if (opened := ui.open_study(ctx, "Landscape", "a landscape")) is None:
        return
    study, sig = opened
    spec = ui.stored_spec(ctx.url, study)
    if spec is not None and spec.description:  # folded: the heatmaps come first
        with st.expander("About this study", icon=":material/info:"):
            st.markdown(spec.description)
    if spec is not None and spec.mode == "tune":
        sections.tune_view(ctx, study, sig)
        return
    trials = ui.trials(ctx.url, study, sig)
    options = sections.landscape_options(dash.schedules_of(trials),
                                         panel_cells=dash.panel_cells(trials))
    sections.live_landscape(ctx, study, options, live=ui.is_live(ctx, study))
    transfer.section(ctx, spec, options.metric)


ui.guard(render)
