"""Curves (Figures 3 and 4): training loss and test error against epochs for chosen cells,
the best cell of each optimizer by default, with bands over seeds; the angular update of the
normalized layers against its rotational equilibrium; schedules compared."""

from __future__ import annotations

import streamlit as st

from studies import dashboard as dash
from studies.analysis import CURVE_METRICS
from studies.plots import curves_figure, equilibrium_figure, metric_label, schedule_figure
from views import _components as ui

BANDS = {"std": "mean ± std over seeds", "minmax": "min – max over seeds", None: "none"}


def render() -> None:
    ctx = ui.context()
    if (opened := ui.open_study(ctx, "Curves", "learning curves")) is None:
        return
    study, sig = opened
    trials, curves = ui.trials(ctx.url, study, sig), ui.curves(ctx.url, study, sig)
    if not (choices := dash.cell_choices(trials)):
        st.info("No trials with results yet: curves appear as soon as cells train.")
        return
    summary = ui.summary(ctx.url, study, sig, "final_test_error", "mean")
    best = set(dash.best_cells(summary)) if not summary.empty else set()
    default = [label for label, cell in choices.items() if cell in best] or list(choices)[:2]
    picked = st.multiselect("Cells", list(choices), default=default, key="cv_cells",
                            help="Default: each optimizer's best cell (final test error, mean "
                            "over seeds); options list each optimizer's best cells first.")
    c = st.columns([3, 2, 1])
    metrics = c[0].multiselect("Metrics", CURVE_METRICS, default=["train_loss", "test_error"],
                               format_func=metric_label, key="cv_metrics")
    band = c[1].radio("Band", list(BANDS), format_func=BANDS.get, horizontal=True, key="cv_band")
    log_loss = c[2].toggle("Log loss axis", value=True, key="cv_log")
    cells = [choices[p] for p in picked]
    if not picked or not metrics:
        st.info("Pick at least one cell and one metric.")
    else:
        ui.plotly(curves_figure(curves, trials, metrics=metrics, band=band, cells=cells,
                                log_loss=log_loss), key="curves")
        st.caption("Lines: mean over seeds; one colour per optimizer (SGD pink, SGDW green, "
                   "Adam orange, AdamW blue), as on every page.")
    spec = ui.stored_spec(ctx.url, study)
    if picked and curves["angular_update_bn"].notna().any():
        st.subheader("Rotational equilibrium of the normalized layers")
        betas = {} if spec is None else {"momentum": spec.momentum, "beta1": float(spec.betas[0])}
        ui.plotly(equilibrium_figure(curves, trials, cells=cells, **betas,
                                     decay_ratios=dash.study_decay_ratios(spec, trials)),
                  key="cv_equilibrium")
        st.caption("Solid: ∠(W_t, W_{t+1}) per step (rad), mean over the epoch, the decayed "
                   "matrices feeding BatchNorm and the seeds. Dotted: rotational equilibrium "
                   "(Kosson et al. 2024), SGDW/AdamW √(2·η̄·λ·(1−β₁)/(1+β₁)), η̄ the epoch's mean "
                   "η_t, paper λ (η̄·λ = mean lr_t·wd; under normalized decay the λ training "
                   "applied in that epoch's restart period), free of α; SGD + L2 "
                   "√(2·η̄·α·λ/(1+β₁)). "
                   "Adam + L2 has none: its λθ is divided by √v̂, so no common shrink balances.")
    if spec is not None:
        st.subheader("The study's schedules η_t")
        series = {s.name: dash.eta_series(s, epochs=spec.epochs, steps_per_epoch=50)
                  for s in spec.schedules}
        ui.plotly(schedule_figure(series), key="curves_schedules")


ui.guard(render)
