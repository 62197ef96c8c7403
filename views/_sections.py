"""Sections of the Home, Landscape and Studies pages (Streamlit); the logic they call is in
studies.dashboard, the figures in studies.plots."""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from studies import dashboard as dash
from studies.analysis import AGGREGATES, THEORY_AXES, TRIAL_METRICS
from studies.plots import CONVENTION_SYMBOLS, curves_figure, landscape_figure, metric_label
from studies.spec import SpecError
from views import _components as ui


# --- home ----------------------------------------------------------------------------------
def demo_panel(ctx: ui.Context) -> None:
    """The one-click demo, described from its preset (never a hard-coded number). In
    read-only mode: a link to the demo's results instead."""
    if ctx.error:
        st.error(ctx.error)
        return
    if ctx.read_only:
        if demo := next((n for n in ctx.names if n == "demo" or n.startswith("demo-")), None):
            ui.page_link(ui.LANDSCAPE, "Open the demo results", demo, icon=":material/grid_on:")
        else:
            ui.page_link(ui.STUDIES, "Browse the studies", None, icon=":material/folder_open:")
        return
    st.markdown(dash.demo_blurb())
    if st.button("Run the demo", type="primary", icon=":material/play_arrow:", key="run_demo"):
        with ui.inline_errors(), st.spinner("Starting the demo…"):
            name, what = dash.run_demo(ctx.url)
            ui.remember_launch(name)
            ui.go(ui.LANDSCAPE if what == "finished" else ui.RUN, name)


def recent_studies(ctx: ui.Context) -> None:
    st.markdown("##### Recent studies")
    if ctx.error:
        st.error(ctx.error)
        return
    if not (infos := ui.study_infos(ctx.url)):
        st.info("No studies yet. Click **Run the demo** to watch the paper's result appear, or "
                "design your own study on the **Run** page (presets for Figures 1 to 4 "
                "included).", icon=":material/waving_hand:")
        ui.page_link(ui.RUN, "Design a study", None, icon=":material/play_arrow:")
        return
    for info in list(reversed(infos))[:5]:
        with st.container(border=True):
            head, link = st.columns([4, 1])
            row = dash.studies_table([info]).iloc[0]
            head.markdown(f"**{info.name}** · {info.mode or '—'} · {row['State']}")
            with link:
                ui.page_link(ui.LANDSCAPE, "Open", info.name, icon=":material/grid_on:")
            st.progress(info.progress, text=f"{info.cells_done} / {info.cells_total} cells")
            if info.best:
                st.caption(f"Best final test error: {row['Best final test error']}")
    ui.page_link(ui.STUDIES, "All studies", None, icon=":material/folder_open:")


# --- landscape -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class LandscapeOptions:
    """What the Landscape page's controls ask for."""

    metric: str
    aggregate: str
    convention: str
    schedule: str | None
    best: int
    iso: bool
    products: list[float] | None
    coupling: bool


def landscape_options(schedules: list[str], panel_cells: int = 64) -> LandscapeOptions:
    """The controls above the heatmaps: one row, the overlays folded into a popover so the
    heatmaps stay in view. ``panel_cells``: cells of the largest panel (the default number
    of circled best cells scales with it)."""
    c = st.columns([3, 2, 5, 2, 2], vertical_alignment="bottom")
    metric = c[0].selectbox("Metric", TRIAL_METRICS, format_func=metric_label, key="ls_metric")
    aggregate = c[1].selectbox("Over seeds", AGGREGATES, key="ls_aggregate",
                               help="How the seeds of a cell are combined.")
    convention = c[2].radio("Weight-decay axis", list(CONVENTION_SYMBOLS), horizontal=True,
                            format_func=lambda k: dash.WD_COLUMN.get(k, CONVENTION_SYMBOLS[k]),
                            key="ls_convention", help="The same cells: the paper's λ, PyTorch's "
                            "wd = λ/α, the normalized λ_norm, or from the paper's λ the mean "
                            "per-step shrink s = η̄·λ (η̄: mean schedule multiplier), AdamW's EMA "
                            "timescale τ_epoch = 1/(s·S) epochs for S steps per epoch (Wang & "
                            "Aitchison 2025: its best value holds across model and data size) "
                            "or α·λ (for L2: the effective decay of normalized layers).")
    schedule = (c[3].selectbox("Schedule", [dash.ALL_SCHEDULES, *schedules], key="ls_schedule",
                               help="Every schedule, one row of panels each (Figure 1), or "
                               "one of them.")
                if len(schedules) > 1 else (schedules[0] if schedules else None))
    with c[4].popover("Overlays", icon=":material/layers:", width="stretch"):
        best = st.number_input("Best cells circled", 0, 50, dash.best_default(panel_cells),
                               key=f"ls_best:{panel_cells}",
                               help="Default: about one cell in eight of a panel.")
        iso = st.toggle("Iso-lines α·λ", key="ls_iso", disabled=convention in THEORY_AXES,
                        help="Lines of constant α × weight decay (through the best cell "
                        "unless you give products). On PyTorch's wd axis α·wd is AdamW's "
                        "per-step shrink (EMA timescale τ = 1/(α·wd) steps).")
        text = st.text_input("α·λ values (optional)", key="ls_products",
                             placeholder="e.g. 2^-16, 2^-14", disabled=not iso)
        # On by default: the line through each row's best λ is the paper's Figure-2 point
        # at a glance (a diagonal for L2, upright for decoupled decay).
        coupling = st.toggle("Coupling fit", value=True, key="ls_coupling",
                             help=dash.COUPLING_HELP)
    products = None
    with ui.inline_errors():
        products = dash.forms.parse_list(text, "α·λ values", item="float")
    return LandscapeOptions(metric=metric, aggregate=aggregate, convention=convention,
                            schedule=schedule, best=int(best), iso=iso,
                            products=(products or None) if iso else None, coupling=coupling)


def live_landscape(ctx: ui.Context, study: str, o: LandscapeOptions, *, live: bool) -> None:
    """Heatmaps, summary, the clicked cell's curves and Refine; a fragment that polls the
    storage while the study runs."""

    @st.fragment(run_every=ui.LIVE_EVERY_S if live else None)
    @ui.guarded
    def view() -> None:
        if (sig := ui.study_signature(ctx, study)) is not None:
            landscape_view(ctx, study, sig, o, live=live)
        if live and not ui.is_live(ctx, study):
            st.rerun()  # finished: redraw once, without the timer

    view()


@st.cache_data(max_entries=16, show_spinner=False)
def landscape_panels(url: str, study: str, sig: tuple[object, ...], o: LandscapeOptions, *,
                     live: bool) -> tuple[Any, dict[str, Any], list[str]]:
    """The heatmaps (with their click layer), difference maps and sentences: cached with the
    study's signature, since the significance tests and the slope bootstrap behind them are
    the page's slowest part."""
    lands = ui.landscapes(url, study, sig, o.metric, o.convention, o.aggregate, o.schedule)
    every = o.schedule == dash.ALL_SCHEDULES
    per_row = len({land.optimizer for land in lands.values()}) if every else None
    fig = landscape_figure(lands, show_best=o.best, show_iso=o.iso, iso_products=o.products,
                           show_coupling=o.coupling, cols=per_row, fixed_range=live)
    dash.add_click_layer(fig, lands)
    if not dash.significance_shown(o.aggregate, o.schedule):
        return fig, {}, []
    return fig, dash.difference_maps(lands), dash.landscape_caption(lands)


def landscape_view(ctx: ui.Context, study: str, sig: tuple[object, ...],
                   o: LandscapeOptions, *, live: bool) -> None:
    try:
        lands = ui.landscapes(ctx.url, study, sig, o.metric, o.convention, o.aggregate, o.schedule)
    except ValueError as error:
        st.warning(f"Cannot show this axis: {error}. Showing the paper's λ instead.")
        o = dataclasses.replace(o, convention="paper")
        lands = ui.landscapes(ctx.url, study, sig, o.metric, o.convention, o.aggregate, o.schedule)
    if not lands:
        st.info("No trials with a learning rate and a weight decay yet.")
        return
    every = o.schedule == dash.ALL_SCHEDULES
    fig, differences, sentences = landscape_panels(ctx.url, study, sig, o, live=live)
    where = st.columns([2, 1]) if len(differences) == 1 and len(lands) == 2 else [st.container()]
    with where[0]:
        event = ui.plotly(fig, key="landscape_chart", on_select="rerun",
                          selection_mode=("points", "box", "lasso"))
    with where[-1]:
        for k, diff_fig in enumerate(differences.values()):
            ui.plotly(diff_fig, key=f"difference_chart_{k}")
    st.caption("Hover for a cell's numbers · **click a cell** for its learning curves · drag "
               "a box to select a region to refine · black circles: the best cells · squares: "
               "cells a t-test over seeds cannot tell from the best · red ×: diverged."
               + (" Colours fixed at 0–100 % while the study runs." if live else ""))
    for sentence in sentences:
        st.markdown(sentence)
    if o.convention in THEORY_AXES:
        st.caption("Theory axis, from the paper's λ: no iso-lines (its columns are the lines of "
                   "constant s, τ_epoch or α·λ); slope, table and difference maps in paper λ.")
    if not every and not dash.significance_shown(o.aggregate, o.schedule):
        st.caption("Significance is tested on the mean over seeds: choose “mean” to see it.")
    frame = ui.summary(ctx.url, study, sig, o.metric, o.aggregate)
    if not frame.empty:
        if o.schedule is not None and not every:
            frame = frame[frame["schedule"] == o.schedule]
        table = dash.summary_table(frame, convention=o.convention, metric=o.metric,
                                   multiple_schedules=every)
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "Coupling slope": st.column_config.TextColumn(help=dash.COUPLING_HELP),
            "Near best (cells)": st.column_config.TextColumn(help=dash.NEAR_BEST_HELP),
            "Seed noise": st.column_config.TextColumn(help=dash.NOISE_HELP),
        })
    picked = dash.picked_cells(event.selection.points if event else [], list(lands))
    if len(picked) == 1:
        cell_curves(ctx, study, sig, lands, picked[0], o.convention)
    elif picked:
        st.info(f"{len(picked)} cells selected: the Refine panel below uses their region.")
    refine_panel(ctx, study, lands, picked)


def cell_curves(ctx: ui.Context, study: str, sig: tuple[object, ...], lands: dict,
                 cell: dash.PickedCell, convention: str) -> None:
    if not (numbers := dash.cell_trials(lands, cell)):
        return
    st.subheader(dash.cell_title(cell, convention))
    trials, curves = ui.trials(ctx.url, study, sig), ui.curves(ctx.url, study, sig)
    if curves[curves["trial"].isin(numbers)].empty:
        st.caption("No epochs recorded for this cell yet.")
    else:
        ui.plotly(curves_figure(curves, trials, trial_numbers=list(numbers)), key="cell_curves")
    st.dataframe(dash.cell_table(trials[trials["trial"].isin(numbers)]), hide_index=True,
                 width="stretch")


def refine_panel(ctx: ui.Context, study: str, lands: dict, picked: list) -> None:
    spec = None if ctx.read_only else ui.stored_spec(ctx.url, study)
    if spec is None:
        return
    with st.expander("Refine: a finer grid around a region, or more seeds for the best cells",
                     expanded=len(picked) > 1):
        region = ((dash.selection_region(lands, picked) if len(picked) > 1 else None)
                  or dash.default_region(lands))
        unit = dash.WD_COLUMN[spec.convention]
        with st.form("refine_grid", border=False):
            st.markdown("**A finer grid over a region** (both axes log₂-spaced, ends included; "
                        "a point within 0.01 % of one the study has is that point)")
            c = st.columns(5)
            ends = ("α from", "α to", f"{unit} from", f"{unit} to")
            texts = [col.text_input(end, dash.exact_text(value))
                     for col, end, value in zip(c, ends, (*region[0], *region[1]), strict=False)]
            count = c[4].number_input("Values per axis", 2, 24, 5)
            shown = {land.optimizer for land in lands.values()}
            optimizers = st.multiselect("Optimizers", list(spec.optimizers),
                                        default=[o for o in spec.optimizers if o in shown])
            submitted = st.form_submit_button("Add the finer grid", icon=":material/zoom_in:")
        if submitted:
            with ui.inline_errors():
                values = [dash.forms.parse_float(t, e) for t, e in zip(texts, ends, strict=True)]
                if None in values:
                    raise SpecError("region", "give all four ends of the region")
                added, _ = dash.refine_region(ctx.url, study, lr_range=tuple(values[:2]),
                                              wd_range=tuple(values[2:]), count=count,
                                              optimizers=optimizers or None)
                ui.flash(f"Added {added} new cells to {study}; a worker is training them."
                         if added else "Every cell of that region is already in the study.")
        with st.form("refine_seeds", border=False):
            st.markdown("**More seeds for the best cells** (tells signal from seed noise)")
            c = st.columns(2)
            k = c[0].number_input("Best cells per optimizer", 1, 50, 3)
            n = c[1].number_input("New seeds each", 1, 20, 2)
            submitted = st.form_submit_button("Add seeds", icon=":material/casino:")
        if submitted:
            with ui.inline_errors():
                cells = dash.best_spec_cells(lands, int(k), convention=spec.convention)
                trials = ui.trials(ctx.url, study, ui.study_signature(ctx, study))
                added, _ = dash.more_seeds(ctx.url, study, cells=cells, n_seeds=n, trials=trials)
                ui.flash(f"Added {added} runs to {study}; a worker is training them."
                         if added else "Those seeds are already in the study.")
        _remove_added(ctx, study)


def _remove_added(ctx: ui.Context, study: str) -> None:
    """Take back cells added with Refine: the untrained ones at once, the finished ones
    after the user confirms losing their results."""
    if not (added := dash.added_cells(ctx.url, study)).total:
        return
    st.markdown("**Cells you added** (finer grids and extra seeds, beyond the study's spec)")
    st.caption(f"{added.total} added: {len(added.waiting)} not trained yet, "
               f"{len(added.training)} in training, {len(added.finished)} finished. Cells in "
               "training can be removed once their population ends (or after Cancel).")
    c = st.columns([2, 3])
    if added.waiting and c[0].button(f"Remove the {len(added.waiting)} not trained yet",
                                     icon=":material/remove_circle:", key="remove_waiting"):
        with ui.inline_errors():
            n = dash.remove_added(ctx.url, study, finished=False)
            ui.flash(f"Removed {n} added cells from {study} before they trained.")
    if added.finished:
        with c[1]:
            sure = st.checkbox(f"Also remove the {len(added.finished)} finished ones: their "
                               "results leave every view, report and export",
                               key="remove_finished_ok")
            if st.button("Remove all added cells", disabled=not sure, key="remove_all",
                         icon=":material/delete_sweep:"):
                with ui.inline_errors():
                    n = dash.remove_added(ctx.url, study, finished=True)
                    ui.flash(f"Removed {n} added cells from {study}.")


def tune_view(ctx: ui.Context, study: str, sig: tuple[object, ...]) -> None:
    st.info("A tune study: Optuna's sampler picks each trial's α and weight decay, so its "
            "trials are not on a grid. Below: where it searched, and how it converged.")
    cols = st.columns(2)
    for k, (title, fig) in enumerate(ui.tune_figures(ctx.url, study, sig).items()):
        with cols[k % 2]:
            st.markdown(f"**{title}**")
            ui.plotly(fig, key=f"tune_{title}")
    if not ctx.read_only:
        with st.form("add_trials", border=False):
            n = st.number_input("Add trials to the budget", 1, 5000, 10)
            submitted = st.form_submit_button("Add trials", icon=":material/add:")
        if submitted:
            with ui.inline_errors():
                budget, _ = dash.add_tune_trials(ctx.url, study, int(n))
                ui.flash(f"The budget of {study} is now {budget} trials; a worker is running "
                         "them.")


# --- studies -------------------------------------------------------------------------------
def export_buttons(ctx: ui.Context, study: str) -> None:
    st.markdown("**Export** · files are made when you click; figures and the report open "
                "offline in any browser.")
    for col, item in zip(st.columns(5), dash.exports(ctx.url, study), strict=True):
        col.download_button(item.label, item.make, file_name=item.filename, mime=item.mime,
                            on_click="ignore", key=f"dl_{item.filename}", width="stretch")


def optuna_views(ctx: ui.Context, study: str) -> None:
    if (sig := ui.study_signature(ctx, study)) is None:
        return
    st.markdown("**Optuna's views**")
    figures = ui.tune_figures(ctx.url, study, sig)
    for tab, (title, fig) in zip(st.tabs(list(figures)), figures.items(), strict=True):
        with tab:
            ui.plotly(fig, key=f"optuna_{title}")


def delete_box(ctx: ui.Context, study: str) -> None:
    if ctx.read_only:
        return
    with st.expander("Delete this study", icon=":material/delete:"):
        typed = st.text_input(f"Type **{study}** to confirm", key="delete_confirm")
        if st.button("Delete for good", type="primary", disabled=typed != study, key="delete"):
            with ui.inline_errors():
                dash.delete(ctx.url, study)
                ui.study_infos.clear()
                ui.flash(f"Deleted study {study}.", ui.STUDIES)
