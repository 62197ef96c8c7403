"""Standalone HTML: single figures, and a one-file report of a study to send to people who
will not run the tool.

The report opens offline in any browser: Plotly's JavaScript is embedded once in the page
head (about 4.5 MB), every figure refers to it, and there is nothing else to fetch. All
text from the study (name, description, spec) is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from studies.analysis import Cell, summary
from studies.dashboard._captions import landscape_caption
from studies.dashboard._figures import difference_maps, landscapes, schedules_of
from studies.dashboard._tables import WD_COLUMN, summary_table
from studies.plots import CONVENTION_TITLES, curves_figure, landscape_figure, metric_label

log = logging.getLogger(__name__)

_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 2rem auto; max-width: 1200px; color: #1f2430; line-height: 1.45; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.meta { color: #5b6170; } pre { background: #f6f7f9; padding: 1rem; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #d8dbe2; padding: 0.35rem 0.6rem; text-align: left; }
th { background: #f0f2f6; } .note { background: #fff8e6; padding: 0.6rem 1rem; }
"""


def figure_html(fig: go.Figure, *, title: str) -> str:
    """One figure as a standalone HTML page (Plotly's JavaScript embedded: works offline)."""
    fig = go.Figure(fig)
    if not fig.layout.title.text:
        fig.update_layout(title=title)
    return fig.to_html(full_html=True, include_plotlyjs=True, config=_PLOTLY_CONFIG)


def best_cells(summary_frame: pd.DataFrame) -> list[Cell]:
    """The best cell of each (optimizer, schedule) row of an analysis summary."""
    return [Cell(optimizer=r.optimizer, lr=float(r.best_lr), wd_paper=float(r.best_wd_paper),
                 schedule=r.schedule) for r in summary_frame.itertuples(index=False)
            if math.isfinite(r.best_lr) and math.isfinite(r.best_wd_paper)]


def _conventions_html() -> str:
    rows = [("λ (paper)", "per-step shrink η_t·λ, never scaled by α", "the paper's axis"),
            ("wd (PyTorch)", "per-step shrink lr_t·wd with lr_t = α·η_t", "wd = λ / α"),
            ("λ_norm (normalized)", "App. B of the paper", "λ = λ_norm·√(b / (B·T))")]
    body = "".join("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in row) + "</tr>"
                   for row in rows)
    return f"<table><tr><th>convention</th><th>meaning</th><th>relation</th></tr>{body}</table>"


def study_report(*, study: str, trials: pd.DataFrame, curves: pd.DataFrame,
                 spec_yaml: str | None, description: str = "", storage_shown: str = "",
                 metric: str = "final_test_error", convention: str = "paper",
                 generated: dt.datetime | None = None) -> str:
    """A one-file HTML report: description, conventions, summary table, one landscape figure
    per schedule, learning curves of each optimizer's best cell, and the spec."""
    from plotly.offline import get_plotlyjs

    generated = generated or dt.datetime.now(dt.UTC)
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(study)} — decoupled weight decay report</title>",
        f"<style>{_STYLE}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script>",
        "</head><body>",
        f"<h1>Study {esc(study)}</h1>",
        f"<p class='meta'>Report generated {generated:%Y-%m-%d %H:%M UTC}"
        + (f" from {esc(storage_shown)}" if storage_shown else "")
        + ". Interactive figures: hover for values, drag to zoom, double-click to reset.</p>"]
    if description:
        parts.append(f"<p>{esc(description)}</p>")
    parts += ["<h2>Weight-decay conventions</h2>",
              "<p>Every weight decay below says which convention it is in (b batch size, B "
              "training points, T epochs per restart period).</p>", _conventions_html()]
    usable = trials[trials["optimizer"].notna()]
    if usable.empty:
        parts.append("<p class='note'>This study has no trials yet.</p>")
    else:
        done = int((usable["state"] == "COMPLETE").sum())
        parts.append(f"<h2>Summary</h2><p>{done} of {len(usable)} trials complete; "
                     f"metric: {esc(metric_label(metric))}, mean over seeds.</p>")
        frame = summary(usable, metric=metric)
        schedules = schedules_of(usable)
        table = summary_table(frame, convention=convention, metric=metric,
                              multiple_schedules=len(schedules) > 1)
        for name in ("pytorch", "normalized"):
            if name != convention and (col := frame[f"best_wd_{name}"]).notna().any():
                table[f"Best {WD_COLUMN[name]}"] = [f"{v:.4g}" for v in col]
        parts += [table.to_html(index=False, escape=True, border=0, na_rep="—"),
                  f"<h2>Landscapes ({esc(CONVENTION_TITLES[convention])})</h2>"]
        for schedule in schedules:
            if not (lands := landscapes(usable, metric=metric, convention=convention,
                                        schedule=schedule)):
                continue
            fig = landscape_figure(lands)
            fig.update_layout(title=f"schedule: {schedule}" if len(schedules) > 1 else None)
            parts.append(_figure_div(fig))
            # The same sentences and difference maps as the Landscape page, from this study.
            parts += [f"<p>{esc(line)}</p>" for line in landscape_caption(lands)]
            parts += [_figure_div(diff) for diff in difference_maps(lands).values()]
        if (cells := best_cells(frame)) and not curves.empty:
            parts += ["<h2>Learning curves of each optimizer's best cell</h2>",
                      _figure_div(curves_figure(curves, usable, cells=cells))]
    if spec_yaml:
        parts += ["<h2>Spec</h2>", f"<pre>{esc(spec_yaml)}</pre>"]
    parts.append("</body></html>")
    return "\n".join(parts)


def _figure_div(fig: go.Figure) -> str:
    # The script is in the head, once: every figure refers to it.
    return fig.to_html(full_html=False, include_plotlyjs=False, config=_PLOTLY_CONFIG)


@dataclass(frozen=True)
class Export:
    """A file the Studies page offers, made only when someone asks for it."""

    label: str
    filename: str
    mime: str
    make: Callable[[], str]


def _safe(make: Callable[[], str], what: str, url: str) -> Callable[[], str]:
    def run() -> str:
        try:
            return make()
        except Exception as error:  # a download must never break the page
            from studies.storage import scrub

            log.error("export %s failed: %s", what, scrub(f"{type(error).__name__}: {error}", url))
            return f"Could not make {what}: {type(error).__name__}: {scrub(str(error), url)}\n"

    return run


def exports(url: str, study: str) -> list[Export]:
    """CSV and JSON of the trials, the landscape and the curves as standalone HTML, and the
    one-file report."""
    from studies.export import curves_frame, export_trials, trials_frame
    from studies.storage import StoredStudy, redact

    def usable() -> pd.DataFrame:
        return (trials := trials_frame(url, study))[trials["optimizer"].notna()]

    def landscape_page() -> str:
        schedules = schedules_of(trials := usable())
        if not (lands := landscapes(trials, schedule=schedules[0] if schedules else None)):
            return "<p>No trials yet.</p>"
        return figure_html(landscape_figure(lands), title=f"{study}: landscape")

    def curves_page() -> str:
        trials = usable()
        if not (cells := best_cells(summary(trials)) if not trials.empty else []):
            return "<p>No results yet.</p>"
        fig = curves_figure(curves_frame(url, study), trials, cells=cells)
        return figure_html(fig, title=f"{study}: learning curves of the best cells")

    def report() -> str:
        spec = StoredStudy.open(url, study).spec  # None: an Optuna study made elsewhere
        return study_report(study=study, trials=trials_frame(url, study),
                            curves=curves_frame(url, study), storage_shown=redact(url),
                            spec_yaml=spec.to_yaml() if spec else None,
                            description=spec.description if spec else "")

    items = [
        Export("Trials (CSV)", f"{study}-trials.csv", "text/csv",
               lambda: export_trials(url, study, fmt="csv")),
        Export("Trials (JSON)", f"{study}-trials.json", "application/json",
               lambda: export_trials(url, study, fmt="json")),
        Export("Landscape (HTML)", f"{study}-landscape.html", "text/html", landscape_page),
        Export("Curves (HTML)", f"{study}-curves.html", "text/html", curves_page),
        Export("Report (HTML, one file)", f"{study}-report.html", "text/html", report)]
    return [Export(e.label, e.filename, e.mime, _safe(e.make, e.label, url)) for e in items]
