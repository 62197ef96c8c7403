"""Optuna's own Plotly views of a tune study: history, importances, contour, intermediate
values. Each view that cannot be drawn yet (too few trials, one parameter that never varies)
becomes a one-line explanation instead of an error."""

from __future__ import annotations

import warnings

import plotly.graph_objects as go

VIEWS = ("Optimization history", "Parameter importances", "Contour of α × weight decay",
         "Intermediate values (validation error per epoch)")


def tune_figures(url: str, study: str) -> dict[str, go.Figure | str]:
    """Title → figure, or → why it cannot be drawn yet."""
    import optuna
    from optuna import visualization as vis

    from studies.plots import CONVENTION_TITLES, LR_TITLE
    from studies.storage import StoredStudy

    stored = StoredStudy.open(url, study, wait=True)
    convention = stored.spec.convention if stored.spec is not None else None
    loaded = stored.optuna_study()
    complete = [t for t in loaded.get_trials(deepcopy=False)
                if t.state == optuna.trial.TrialState.COMPLETE]
    varying = [p for p in ("lr", "weight_decay")
               if len({t.params.get(p) for t in complete if p in t.params}) > 1]
    makers = {
        VIEWS[0]: lambda: vis.plot_optimization_history(loaded, target_name="validation error"),
        VIEWS[1]: lambda: vis.plot_param_importances(loaded, target_name="validation error"),
        VIEWS[2]: lambda: vis.plot_contour(loaded, params=["lr", "weight_decay"],
                                           target_name="validation error"),
        VIEWS[3]: lambda: vis.plot_intermediate_values(loaded),
    }
    out: dict[str, go.Figure | str] = {}
    for title, make in makers.items():
        if title != VIEWS[3] and len(complete) < 2:
            out[title] = "Needs at least two complete trials."
            continue
        if title in VIEWS[1:3] and len(varying) < 2:
            out[title] = "Needs trials that differ in both α and weight decay."
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fig = make()
        except (ValueError, RuntimeError, ImportError) as error:
            out[title] = f"Not available: {error}"
            continue
        fig.update_layout(height=420, title=None)
        if title == VIEWS[2]:  # name the axes, and the weight decay's convention
            fig.update_xaxes(title_text=LR_TITLE)
            if convention is not None:
                fig.update_yaxes(title_text=CONVENTION_TITLES[convention])
        out[title] = fig
    return out
