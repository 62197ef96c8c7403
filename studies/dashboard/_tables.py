"""Tables as people read them: studies with their progress, and the landscape summary.

Every weight decay in a table says its convention in the column name (PAPER.md §3); errors
are shown as percentages, the way the paper reports them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd

from studies.analysis import THEORY_AXES, display_name

#: Column titles of a weight decay, one per convention.
WD_COLUMN = {"paper": "λ (paper)", "pytorch": "wd = λ/α (PyTorch)",
             "normalized": "λ_norm (normalized)"}
STATE_LABELS = {"partial": "stopped"}  # the other states read as they are
STATE_HELP = ("finished: every cell done · running: trials training · stopped: cells left to "
              "train, resumable (Run page) · empty: no trials")
ERROR_METRICS = frozenset({"final_test_error", "best_test_error", "final_val_error",
                           "best_val_error"})


def percent(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{100 * x:.2f} %"


def number(x: float | None, digits: int = 3) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}g}"


def grid_value(x: float | None) -> str:
    """A grid coordinate as the axes show it: ``2⁻⁵ (0.03125)`` for a power of two."""
    from studies.plots import pow2_label

    if x is None or not math.isfinite(x):
        return "—"
    if x > 0 and abs(math.log2(x) - round(math.log2(x))) < 1e-9:
        return f"{pow2_label(round(math.log2(x)))} ({x:.4g})"
    return f"{x:.4g}"


def metric_text(metric: str, x: float | None) -> str:
    return percent(x) if metric in ERROR_METRICS else number(x, 4)


def best_text(best: Mapping[str, float], optimizers: Iterable[str]) -> str:
    """``"Adam 5.4 % · AdamW 4.7 %"`` (final test error per optimizer): one decimal, as the
    Landscape page's sentences give it, so two optimizers fit the Studies column."""
    parts = [f"{display_name(o)} {100 * best[o]:.1f} %" for o in optimizers
             if o in best and math.isfinite(best[o])]
    return " · ".join(parts) or "—"


def studies_table(infos: Iterable[object], *, live: Mapping[str, object] | None = None
                  ) -> pd.DataFrame:
    """One row per :class:`studies.storage.StudyInfo`, newest first; ``live``: study names
    with a process started by this dashboard that is alive."""
    live = live or {}
    rows = []
    for info in infos:
        state = ("starting" if info.name in live and info.state != "running"
                 else STATE_LABELS.get(info.state, info.state))
        rows.append({
            "Study": info.name,
            "State": state,
            "Progress": float(info.progress),
            "Cells done": f"{info.cells_done} / {info.cells_total}",
            "Optimizers": ", ".join(display_name(o) for o in info.optimizers) or "—",
            "Best final test error": best_text(info.best, info.optimizers),
            "Diverged": int(info.diverged),
            "Kind": " · ".join(x for x in (info.mode, info.dataset) if x) or "—",
            "Created": info.created.strftime("%Y-%m-%d %H:%M") if info.created else "—",
        })
    frame = pd.DataFrame(rows, columns=["Study", "State", "Progress", "Cells done", "Optimizers",
                                        "Best final test error", "Diverged", "Kind", "Created"])
    return frame.iloc[::-1].reset_index(drop=True)


def summary_table(summary: pd.DataFrame, *, convention: str, metric: str,
                  multiple_schedules: bool) -> pd.DataFrame:
    """The analysis summary (:data:`studies.analysis.SUMMARY_COLUMNS`) for display: best
    value ± seed std, the best cell's α and weight decay in ``convention`` (and the paper's
    λ when that is another one), the cells a t-test cannot tell from the best, the seed
    noise, and the coupling slope with its 95 % interval from that noise (the fit's
    standard error when one seed measured no noise). A theory axis (s, τ_epoch, α·λ) shows
    the paper's λ, from which it is computed."""
    convention = "paper" if convention in THEORY_AXES else convention
    wd_col = f"best_wd_{convention}"
    rows = []
    for r in summary.itertuples(index=False):
        slope = r.coupling_slope
        row = {"Optimizer": display_name(r.optimizer)}
        if multiple_schedules:
            row["Schedule"] = r.schedule
        best = metric_text(metric, r.best)
        if math.isfinite(r.best_std):
            best += f" ± {metric_text(metric, r.best_std).replace(' %', '')}"
        row.update({"Cells done": f"{r.cells_done} / {r.cells_total}", "Best": best,
                    "Best α": grid_value(r.best_lr),
                    f"Best {WD_COLUMN[convention]}": grid_value(getattr(r, wd_col))})
        if convention != "paper":
            row["Best λ (paper)"] = grid_value(r.best_wd_paper)
        measured = math.isfinite(r.seed_noise)
        if not math.isfinite(slope):
            coupling = "—"
        elif math.isfinite(r.coupling_low):
            coupling = (f"{slope:+.2f} [{r.coupling_low:+.2f}, {r.coupling_high:+.2f}] "
                        f"({r.coupling_rows} rows)")
        else:
            coupling = f"{slope:+.2f} ± {r.coupling_stderr:.2f} fit ({r.coupling_rows} rows)"
        row.update({
            "Near best (cells)": str(int(r.near_best)) if measured else "— (one seed)",
            "Seed noise": metric_text(metric, r.seed_noise) if measured else "not measured",
            "Coupling slope": coupling,
            "Diverged": int(r.n_diverged),
        })
        rows.append(row)
    return pd.DataFrame(rows)


COUPLING_HELP = (
    "Slope of log₂(best λ) against log₂ α across learning-rate rows, in the paper's λ: "
    "≈ 0 means the best weight decay does not move with the learning rate (separable, "
    "decoupled decay: SGDW, AdamW); ≈ −1 means only α·λ matters (the diagonal valley of L2 "
    "regularization). Rows whose best λ is on the grid's edge are left out. In brackets: the "
    "95 % interval from the seed noise (parametric bootstrap); two optimizers' shapes differ "
    "beyond the noise when their intervals do not overlap."
)
NEAR_BEST_HELP = (
    "Cells a one-sided t-test over seeds (pooled noise, 5 %) cannot tell from the best cell: "
    "how forgiving the optimizer is to its hyperparameters. Outlined on the heatmap."
)
NOISE_HELP = (
    "Seed noise: the pooled standard deviation across seeds of the better half of the cells. "
    "With one seed per cell nothing is measured; add seeds on the Refine panel."
)


def panel_cells(trials: pd.DataFrame) -> int:
    """Cells of the largest landscape panel: distinct (α, weight decay) per optimizer and
    schedule (0 without trials)."""
    if trials.empty or not {"optimizer", "schedule", "lr", "weight_decay"} <= set(trials.columns):
        return 0
    cells = trials.dropna(subset=["optimizer", "lr", "weight_decay"])
    if cells.empty:
        return 0
    sizes = cells.groupby(["optimizer", "schedule"], dropna=False)[["lr", "weight_decay"]]
    return int(sizes.apply(lambda g: len(g.drop_duplicates())).max())


#: Human column titles of a cell's trials (:func:`cell_table`).
CELL_COLUMNS = {
    "trial": "Trial", "seed": "Seed", "state": "State", "final_test_error": "Final test error",
    "best_test_error": "Best test error", "final_train_loss": "Final train loss",
    "diverged": "Diverged", "epochs_done": "Epochs", "duration_s": "Time (s)",
}


def cell_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The trials of one cell as people read them: titled columns, errors in %."""
    shown = {**dict.fromkeys(ERROR_METRICS, percent), "duration_s": number,
             "final_train_loss": lambda x: number(x, 4)}
    out = pd.DataFrame()
    for column, title in CELL_COLUMNS.items():
        if column in rows.columns:
            values = rows[column]
            out[title] = (values.map(shown[column]) if column in shown else values).to_numpy()
    return out


def best_default(panel_cells: int) -> int:
    """Best cells circled by default: about one in eight of a panel's cells, 1 to 10 (10 of
    a 4 × 4 grid would circle most of it)."""
    return max(1, min(10, round(panel_cells / 8)))
