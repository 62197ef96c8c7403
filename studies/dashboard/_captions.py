"""Sentences about a study, computed from the study: what the Landscape page says in words.

No number here comes from anywhere but the landscapes passed in (issue: "every number on a
page must come from the study it describes"). Each decoupled optimizer is compared with its
L2 twin when both are present (AdamW with Adam, SGDW with SGD): whose best cell is lower, by
how much, whether that is beyond the seed noise the study measured, and whether the two
coupling slopes (how the best λ moves with α) are apart beyond that noise. The tests behind
the words are those of :mod:`studies.analysis._significance`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from studies.analysis import (
    ALPHA,
    Landscape,
    compare_best,
    coupling_interval,
    display_name,
    intervals_apart,
)
from studies.plots import metric_kind, metric_label

#: (decoupled, L2 twin) pairs, in the paper's order.
TWINS: tuple[tuple[str, str], ...] = (("adamw", "adam"), ("sgdw", "sgd"))


def twin_pairs(lands: Mapping[str, Landscape]) -> list[tuple[str, str]]:
    """The (decoupled, L2) pairs whose two landscapes are both in ``lands``."""
    return [(d, c) for d, c in TWINS if d in lands and c in lands]


def _value(x: float, metric: str) -> str:
    return f"{100 * x:.1f} %" if metric_kind(metric) == "error" else f"{x:.4g}"


def _gap(x: float, metric: str) -> str:
    return f"{100 * abs(x):.1f} pp" if metric_kind(metric) == "error" else f"{abs(x):.3g}"


def best_sentence(decoupled: Landscape, coupled: Landscape) -> str | None:
    """"AdamW's best final test error, 28.1 %, is 2.3 pp lower than Adam's (30.4 %): beyond
    the seed noise (p = 0.01 …)." None while either has no finished cell."""
    if (cmp_ := compare_best(decoupled, coupled)) is None:
        return None
    metric = decoupled.metric
    a, b = display_name(cmp_.a), display_name(cmp_.b)
    if cmp_.difference == 0:
        head = (f"{a} and {b} reach the same best {metric_label(metric)}, "
                f"{_value(cmp_.best_a, metric)}")
    else:
        lower, higher = (a, b) if cmp_.difference < 0 else (b, a)
        lo, hi = sorted((cmp_.best_a, cmp_.best_b))
        head = (f"{lower}'s best {metric_label(metric)}, {_value(lo, metric)}, is "
                f"{_gap(cmp_.difference, metric)} lower than {higher}'s ({_value(hi, metric)})")
    if not cmp_.noise.measured:
        return head + ": one seed per cell, so no noise was measured to judge it (add seeds)."
    seeds = f"{min(cmp_.n_a, cmp_.n_b)}" if cmp_.n_a == cmp_.n_b else f"{cmp_.n_a}/{cmp_.n_b}"
    verdict = "beyond" if cmp_.significant else "within"
    return (f"{head}: {verdict} the seed noise (pooled t-test, {seeds} seeds per cell, "
            f"p = {cmp_.p:.2g}).")


def slope_sentence(decoupled: Landscape, coupled: Landscape) -> str | None:
    """The two coupling slopes with their seed-noise intervals, and whether they are apart;
    always of the paper's λ, whatever axis the page shows. None when either slope cannot be
    fitted yet."""
    a, b = coupling_interval(decoupled), coupling_interval(coupled)
    if not (math.isfinite(a.slope) and math.isfinite(b.slope)):
        return None
    name_a, name_b = display_name(decoupled.optimizer), display_name(coupled.optimizer)

    def show(name: str, iv) -> str:
        interval = f" [{iv.low:+.2f}, {iv.high:+.2f}]" if iv.measured else ""
        return f"{name} {iv.slope:+.2f}{interval}"

    text = f"Coupling slope of the best λ (paper) on α: {show(name_b, b)}, {show(name_a, a)}"
    if not (a.measured and b.measured):
        return text + " (one seed: no interval)."
    coverage = f"{100 * (1 - ALPHA):.0f} %"
    if intervals_apart(a, b):
        steeper = name_b if abs(b.slope) > abs(a.slope) else name_a
        return (text + f": apart beyond the seed noise ({coverage} intervals); {steeper}'s "
                "best λ moves more with α.")
    return text + f": the {coverage} intervals overlap, so the shapes are not told apart."


def landscape_caption(lands: Mapping[str, Landscape]) -> list[str]:
    """The Landscape page's sentences, one per fact, for every twin pair present."""
    return [sentence for d, c in twin_pairs(lands)
            for sentence in (best_sentence(lands[d], lands[c]), slope_sentence(lands[d], lands[c]))
            if sentence]
