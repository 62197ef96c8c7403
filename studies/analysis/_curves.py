"""Learning curves of grid cells (mean and spread over seeds); the rotational equilibrium."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from ._landscape import grid_key
from ._tables import CURVE_METRICS, validate_curves, validate_trials

OPTIMIZER_NAMES: Final[dict[str, str]] = {"sgd": "SGD", "sgdw": "SGDW", "adam": "Adam",
                                          "adamw": "AdamW"}
_CELL_COLUMNS: Final[tuple[str, ...]] = ("label", "optimizer", "schedule", "lr", "wd_paper",
                                         "wd_pytorch", "wd_normalized", "trials")
CURVE_FRAME_COLUMNS: Final[tuple[str, ...]] = (*_CELL_COLUMNS, "epoch", "mean", "std", "min",
                                               "max", "n")


@dataclass(frozen=True)
class Cell:
    """A grid cell: optimizer, α and the paper's λ (and a schedule, if several were run)."""

    optimizer: str
    lr: float
    wd_paper: float
    schedule: str | None = None


def display_name(optimizer: str) -> str:
    """The paper's spelling of an optimizer name (``adamw`` → ``AdamW``)."""
    return OPTIMIZER_NAMES.get(optimizer, optimizer)


def learning_curves(curves: pd.DataFrame, trials: pd.DataFrame, *,
                    trial_numbers: Sequence[int] | None = None,
                    cells: Sequence[Cell] | None = None, metric: str = "test_error"
                    ) -> pd.DataFrame:
    """Per-epoch ``metric`` of the selected cells: mean, std (ddof = 1), min, max over seeds.

    Select either ``trial_numbers`` (grouped into cells by optimizer, schedule, α and λ) or
    ``cells`` (each matches every trial with that optimizer, schedule if given, α and λ,
    to a relative tolerance of 1e-9). All trial states count, so a running trial's epochs so
    far appear; non-finite values (after a divergence) are left out of the statistics and
    ``n`` counts the seeds that entered each epoch. Curves are joined on (study, trial) when
    both tables have a study column, else on the trial number, which must then be unique.
    Columns: :data:`CURVE_FRAME_COLUMNS`, one row per (cell, epoch), cells in selection order.
    """
    validate_curves(curves)
    validate_trials(trials)
    if metric not in CURVE_METRICS or metric not in curves.columns:
        raise ValueError(f"unknown curve metric {metric!r}; expected one of {CURVE_METRICS}")
    if (trial_numbers is None) == (cells is None):
        raise ValueError("pass exactly one of trial_numbers= or cells=")

    groups = (_groups_from_trials(trials, trial_numbers) if trial_numbers is not None
              else _groups_from_cells(trials, cells))
    by_study = "study" in curves.columns
    if not by_study:
        chosen = {int(t) for _, g in groups for t in g["trial"]}
        if trials.loc[trials["trial"].isin(chosen), "trial"].duplicated().any():
            raise ValueError("trial numbers are ambiguous across studies; give the curves a "
                             "study column")
    schedules = {str(g["schedule"].iloc[0]) for _, g in groups}
    frames = []
    for cell, g in groups:
        keys = ["study", "trial"] if by_study else ["trial"]
        rows = curves.merge(g[keys].drop_duplicates(), on=keys, how="inner")
        values = pd.to_numeric(rows[metric], errors="coerce")
        values = values.where(np.isfinite(values))
        stats = (pd.DataFrame({"epoch": rows["epoch"].astype(int), "v": values})
                 .groupby("epoch")["v"].agg(["mean", "std", "min", "max", "count"])
                 .rename(columns={"count": "n"}).reset_index())
        first = g.iloc[0]
        label = f"{display_name(cell.optimizer)} α={cell.lr:.3g} λ={cell.wd_paper:.3g}"
        if len(schedules) > 1:
            label += f" ({first['schedule']})"
        values = (label, cell.optimizer, first["schedule"], cell.lr, cell.wd_paper,
                  float(first["wd_pytorch"]), float(first["wd_normalized"]),
                  tuple(sorted(int(t) for t in g["trial"])))
        for position, (name, value) in enumerate(zip(_CELL_COLUMNS, values, strict=True)):
            stats.insert(position, name, [value] * len(stats) if name == "trials" else value)
        frames.append(stats)
    if not frames:
        return pd.DataFrame(columns=list(CURVE_FRAME_COLUMNS))
    out = pd.concat(frames, ignore_index=True)
    out["n"] = out["n"].astype(int)
    return out[list(CURVE_FRAME_COLUMNS)]


def _groups_from_trials(trials: pd.DataFrame, numbers: Sequence[int]
                        ) -> list[tuple[Cell, pd.DataFrame]]:
    sel = trials[trials["trial"].isin([int(n) for n in numbers])]
    if sel["trial"].duplicated().any():
        raise ValueError("trial numbers are ambiguous across studies; filter trials by study")
    if missing := sorted(set(int(n) for n in numbers) - set(sel["trial"].astype(int))):
        raise ValueError(f"trial number(s) not in the trials table: {missing}")
    key = pd.DataFrame({"o": sel["optimizer"].astype(str), "s": sel["schedule"].astype(str),
                        "a": sel["lr"].map(grid_key), "w": sel["wd_paper"].map(grid_key)})
    groups = []
    position = {int(n): k for k, n in reversed(list(enumerate(numbers)))}
    key = key.iloc[np.argsort([position[int(t)] for t in sel["trial"]], kind="stable")]
    for o, s, a, w in key.drop_duplicates().itertuples(index=False):
        mask = (key["o"] == o) & (key["s"] == s) & (key["a"] == a) & (key["w"] == w)
        rows = sel.loc[mask[mask].index]
        cell = Cell(optimizer=o, lr=float(rows["lr"].iloc[0]),
                    wd_paper=float(rows["wd_paper"].iloc[0]), schedule=s)
        groups.append((cell, rows))
    return groups


def _groups_from_cells(trials: pd.DataFrame, cells: Sequence[Cell]
                       ) -> list[tuple[Cell, pd.DataFrame]]:
    groups = []
    lr, wd = (trials[c].to_numpy(dtype=float) for c in ("lr", "wd_paper"))
    for cell in cells:
        mask = ((trials["optimizer"].to_numpy() == cell.optimizer)
                & np.isclose(lr, cell.lr, rtol=1e-9, atol=0.0)
                & np.isclose(wd, cell.wd_paper, rtol=1e-9, atol=0.0))
        if cell.schedule is not None:
            mask &= trials["schedule"].to_numpy() == cell.schedule
        if (sel := trials[mask]).empty:
            raise ValueError(f"no trials for {cell}")
        if cell.schedule is None and sel["schedule"].nunique() > 1:
            raise ValueError(f"{cell} matches several schedules; give the cell a schedule")
        groups.append((cell, sel))
    return groups


def equilibrium_angular_update(optimizer: str, eta: float, lr: float, weight_decay: float, *,
                               beta1: float) -> float:
    """Angular update per step (radians) at which decay balances the updates of scale-invariant
    weights (Kosson et al., "Rotational Equilibrium", ICML 2024): √(2·η_t·λ·(1−β₁)/(1+β₁)) for
    SGDW, AdamW (paper λ; η_t·λ = lr_t·wd in PyTorch's), √(2·η_t·α·λ/(1+β₁)) for SGD + L2.

    Derivation (paper convention). A decoupled step is θ_t = (1 − η_tλ)θ_{t−1} − Δ_t with
    Δ_t = c·Σ_k β₁^k·ĝ_{t−k} (Adam: ĝ = g/√v̂, c = η_tα(1−β₁); SGDW: ĝ = g, c = η_tα). W is
    scale-invariant, L(cW) = L(W), so ⟨∇L(W), W⟩ = 0: each ĝ is ⟂ the weights it was computed
    at. Random-walk model: the ĝ independent across steps, E‖ĝ‖² = σ². Then E‖Δ‖² =
    c²σ²/(1−β₁²), and Δ_t is not ⟂ θ_{t−1}: since ĝ_{t−k} was computed θ moved by −Δ_{t−k} …
    −Δ_{t−1}, which hold it with weight c(1 + … + β₁^{k−1}), so E⟨θ_{t−1}, Δ_t⟩ =
    −c²σ²Σ_{k≥1}β₁^k(1−β₁^k)/(1−β₁) = −c²σ²β₁/((1−β₁)(1−β₁²)). At equilibrium ‖θ_t‖ = ‖θ_{t−1}‖;
    with (1 − η_tλ)² ≈ 1 − 2η_tλ: 2η_tλ‖θ‖² ≈ E‖Δ‖² − 2E⟨θ, Δ⟩ = c²σ²/(1−β₁)². The radial part
    of Δ is O(√(η_tλ)) smaller, so ∠ ≈ ‖Δ‖/‖θ‖ and ∠² ≈ 2η_tλ(1−β₁)²/(1−β₁²): c, σ and α cancel.
    Without momentum (β₁ = 0) Δ ⟂ θ, ‖θ_{t+1}‖² ≈ (1−η_tλ)²‖θ‖² + η_t²α²‖u‖², ∠ = √(2η_tλ).
    SGD + L2: λθ rides in the buffer, a shrink of η_tαλ/(1−β₁) per step in place of η_tλ, so
    ∠ ≈ √(2η_tαλ/(1+β₁)), coupled to α. Adam + L2: λθ enters the gradient and is divided by √v̂
    coordinatewise with it: no common shrink factor of θ, no such balance, no closed form.
    """
    if optimizer in ("sgdw", "adamw"):
        return math.sqrt(2 * eta * weight_decay * (1 - beta1) / (1 + beta1))
    if optimizer == "sgd":
        return math.sqrt(2 * eta * lr * weight_decay / (1 + beta1))
    return math.nan


def equilibrium_curves(curves: pd.DataFrame, trials: pd.DataFrame, *, cells: Sequence[Cell],
                       momentum: float = 0.9, beta1: float = 0.9,
                       decay_ratios: Mapping[str, Sequence[float]] | None = None
                       ) -> pd.DataFrame:
    """:func:`learning_curves` of ``angular_update_bn`` plus the equilibrium at the epoch's
    mean shrink η̄_e·λ_e. ``decay_ratios`` maps a schedule to λ_e/λ per epoch (from 1) where
    training's λ moves away from the cell's paper λ (normalized decay with warm restarts, whose
    λ is recomputed per restart period); a schedule not in it has λ_e = λ."""
    out = learning_curves(curves, trials, cells=cells, metric="angular_update_bn")
    eta = learning_curves(curves, trials, cells=cells, metric="eta_epoch_mean")["mean"]
    ratios = decay_ratios or {}

    def ratio(schedule: str, epoch: int) -> float:
        by_epoch = ratios.get(schedule)
        return by_epoch[epoch - 1] if by_epoch and 1 <= epoch <= len(by_epoch) else 1.0

    out["predicted"] = [
        equilibrium_angular_update(o, e * ratio(s, n), a, w,
                                   beta1=momentum if o.startswith("sgd") else beta1)
        for o, s, n, e, a, w in zip(out["optimizer"], out["schedule"], out["epoch"], eta,
                                    out["lr"], out["wd_paper"], strict=True)]
    return out
