"""Colours, labels and log₂ tick helpers shared by every figure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, Literal

import numpy as np

#: One colour per optimizer, the same in every figure: four clearly different hues of the
#: Okabe-Ito palette (safe for colour-blind readers), so Adam and AdamW (and SGD and SGDW)
#: can never be mistaken for one another; each L2 variant is warm, each decoupled one cool
#: (reddish purple, bluish green, orange, blue).
OPTIMIZER_COLORS: Final[dict[str, str]] = {"sgd": "#CC79A7", "sgdw": "#009E73",
                                           "adam": "#E69F00", "adamw": "#0072B2"}
_FALLBACK_COLORS: Final[tuple[str, ...]] = ("#31a354", "#756bb1", "#636363", "#e7298a")

#: Axis titles of a weight-decay axis; each names its convention (PAPER.md §3).
CONVENTION_TITLES: Final[dict[str, str]] = {
    "paper": "weight decay λ (paper)", "pytorch": "weight decay wd = λ/α (PyTorch)",
    "normalized": "λ_norm (normalized)"}
#: Titles of the theory axes (:func:`studies.analysis.theory_axis`, all from the paper's λ);
#: :func:`studies.plots.axis_title` adds the η̄ and S they were computed with.
THEORY_TITLES: Final[dict[str, str]] = {
    "shrink": "per-step shrink s = η̄·λ (paper λ; = mean lr_t·wd in PyTorch's)",
    "tau_epoch": "AdamW's EMA timescale τ_epoch = 1/(η̄·λ·S) epochs (paper λ)",
    "alpha_lambda": "α·λ (paper λ; for L2: the effective decay of normalized layers)"}
#: Short symbols for hover text.
CONVENTION_SYMBOLS: Final[dict[str, str]] = {
    "paper": "λ (paper)", "pytorch": "wd (PyTorch)", "normalized": "λ_norm", "shrink": "s = η̄·λ",
    "tau_epoch": "τ_epoch (epochs)", "alpha_lambda": "α·λ (paper)"}
METRIC_LABELS: Final[dict[str, str]] = {
    "final_test_error": "final test error", "best_test_error": "best test error",
    "final_val_error": "final validation error", "best_val_error": "best validation error",
    "final_train_loss": "final training loss", "final_weight_norm": "final weight norm",
    "train_loss": "training loss", "train_error": "training error",
    "val_error": "validation error", "test_error": "test error", "eta": "η_t",
    "weight_norm": "weight norm", "eta_epoch_mean": "η̄: mean η_t over the epoch",
    "angular_update_bn": "angular update ∠(W_t, W_{t+1}) per step, matrices into BatchNorm (rad)",
    "angular_update_other": "angular update ∠(W_t, W_{t+1}) per step, other decayed (rad)",
    "weight_norm_bn": "weight norm √Σ‖W‖², matrices into BatchNorm",
    "weight_norm_other": "weight norm √Σ‖W‖², other decayed tensors"}
LR_TITLE: Final[str] = "learning rate α"
DIVERGED_COLOR: Final[str] = "crimson"

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
MetricKind = Literal["error", "loss", "norm", "other"]


def metric_kind(metric: str) -> MetricKind:
    """What a metric measures, which decides how it is drawn: errors as percentages on a
    linear scale, losses and weight norms on a log colour scale (they span decades), and
    only errors and losses have "best" cells worth circling (the smallest norm is no goal)."""
    for kind in ("error", "loss", "norm"):
        if kind in metric:
            return kind  # type: ignore[return-value]
    return "other"


def optimizer_color(optimizer: str, *, index: int = 0) -> str:
    """The optimizer's colour; unknown names cycle through a fallback palette by ``index``."""
    return OPTIMIZER_COLORS.get(optimizer, _FALLBACK_COLORS[index % len(_FALLBACK_COLORS)])


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def pow2_label(exponent: float) -> str:
    """2 with a superscript exponent (``2⁻¹⁰``); ``2^-9.5`` if the exponent is fractional."""
    if abs(exponent - round(exponent)) < 1e-9:
        return "2" + str(round(exponent)).translate(_SUPERSCRIPT)
    return f"2^{exponent:.3g}"


def log2_ticks(values: Sequence[float] | np.ndarray, *, zero_at: float | None = None,
               max_ticks: int = 14) -> tuple[list[float], list[str]]:
    """Tick positions (log₂ of the values) and labels for positive ``values``.

    Ticks sit on the values when every value is a power of two (labelled 2ⁿ), thinned to at
    most ``max_ticks``. Otherwise (a refined grid adds cells between the powers) they sit on
    the integer powers of two that the values span: irregular spacings would put labels on
    top of each other. ``zero_at`` adds a tick "0" at that position.
    """
    v = np.unique(np.asarray(values, dtype=float))
    v = v[(v > 0) & np.isfinite(v)]
    exps = np.log2(v)
    powers = bool(np.all(np.abs(exps - np.round(exps)) < 1e-9))
    ticks, text = ([float(zero_at)], ["0"]) if zero_at is not None else ([], [])
    if not exps.size:
        return ticks, text
    if not powers:
        more = integer_log2_ticks(float(exps.min()), float(exps.max()), max_ticks=max_ticks)
        return ticks + more[0], text + more[1]
    shown = [float(e) for e in exps[:: max(1, math.ceil(len(v) / max_ticks))]]
    return ticks + shown, text + [pow2_label(e) for e in shown]


def integer_log2_ticks(lo: float, hi: float, *, max_ticks: int = 14
                       ) -> tuple[list[float], list[str]]:
    """Ticks at integer powers of two covering [lo, hi] (log₂ units), thinned."""
    exps = np.arange(math.floor(lo), math.ceil(hi) + 1)
    exps = exps[:: max(1, math.ceil(len(exps) / max_ticks))]
    return [float(e) for e in exps], [pow2_label(float(e)) for e in exps]


def rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[k : k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
