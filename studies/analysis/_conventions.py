"""Weight-decay conventions and the conversions between them (numpy only).

Three ways of writing the same decay (PAPER.md §3), for a step with schedule multiplier η_t
and initial learning rate α:

========== ============================ ==========================================
name       per-step shrink of θ          relation to the paper's λ
========== ============================ ==========================================
paper      η_t · λ                       λ
pytorch    lr_t · wd,  lr_t = α · η_t    wd = λ / α
normalized η_t · λ                       λ = λ_norm · f,  f = √(b / (B·T))
========== ============================ ==========================================

b is the batch size, B the number of training points and T the number of epochs (per restart
period under warm restarts), so f is one number per study. ``core.optim`` holds the same
maths for tensors; this module is its numpy twin for tables and figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import ArrayLike

Convention = Literal["paper", "pytorch", "normalized"]
CONVENTIONS: Final[tuple[str, ...]] = ("paper", "pytorch", "normalized")


def normalization_factor(*, batch_size: int, n_train: int, epochs: float) -> float:
    """f = √(b / (B·T)) of the paper's Appendix B, so that λ = λ_norm · f."""
    if batch_size <= 0 or n_train <= 0 or epochs <= 0:
        raise ValueError("batch_size, n_train and epochs must be positive")
    return math.sqrt(batch_size / (n_train * epochs))


def check_convention(name: str) -> str:
    """Return ``name`` if it is one of :data:`CONVENTIONS`, else raise ``ValueError``."""
    if name not in CONVENTIONS:
        raise ValueError(f"unknown weight-decay convention {name!r}; expected one of {CONVENTIONS}")
    return name


def convert_weight_decay(
    value: ArrayLike,
    *,
    from_: str,
    to: str,
    lr: ArrayLike | None = None,
    factor: float | None = None,
) -> np.ndarray | float:
    """Convert a weight decay between conventions, elementwise with numpy broadcasting.

    Goes through the paper's λ: ``pytorch → paper`` is λ = wd·α, ``normalized → paper`` is
    λ = λ_norm·f; the inverse maps divide. ``lr`` (α > 0) is needed whenever ``pytorch`` is
    one side of a real conversion, ``factor`` (f > 0) whenever ``normalized`` is. Returns a
    float for scalar inputs, else an array.
    """
    check_convention(from_)
    check_convention(to)
    out = np.asarray(value, dtype=float)
    if from_ != to:
        alpha = _positive(lr, "lr") if "pytorch" in (from_, to) else None
        f = _positive(factor, "factor") if "normalized" in (from_, to) else None
        if from_ == "pytorch":
            out = out * alpha
        elif from_ == "normalized":
            out = out * f
        if to == "pytorch":
            out = out / alpha
        elif to == "normalized":
            out = out / f
    return float(out) if out.ndim == 0 else out


def _positive(x: ArrayLike | None, name: str) -> np.ndarray:
    if x is None:
        raise ValueError(f"{name} is required for this conversion")
    arr = np.asarray(x, dtype=float)
    if not np.all(arr > 0):
        raise ValueError(f"{name} must be positive")
    return arr


@dataclass(frozen=True, eq=False)
class IsoLine:
    """The curve α · wd = ``product`` over learning rates ``lr``: wd = product / α."""

    product: float  # c = α · wd, in the convention of the axis it is drawn on
    lr: np.ndarray
    wd: np.ndarray

    @property
    def timescale(self) -> float:
        """1 / c: Wang & Aitchison's EMA timescale τ in steps when wd is PyTorch's."""
        return 1.0 / self.product


def iso_product_lines(lr: ArrayLike, products: Iterable[float]) -> tuple[IsoLine, ...]:
    """Lines of constant α · wd, one per positive product c, as wd = c / α over ``lr``.

    What they mean depends on the axis convention. On a PyTorch axis, α·wd is the per-step
    shrink (η_t = 1) and τ = 1/(α·wd) is the timescale, in steps, of the exponential moving
    average of updates that AdamW computes (Wang & Aitchison, 2024). On the paper's λ axis
    the per-step shrink is λ itself, so constant-τ lines are vertical there, and α·λ = c
    marks instead where an L2 coefficient λ under SGD acts like the same decoupled decay
    α·λ: the direction of SGD+L2's diagonal valley.
    """
    alpha = np.sort(np.asarray(lr, dtype=float).ravel())
    if not np.all(alpha > 0):
        raise ValueError("learning rates must be positive")
    lines = []
    for c in products:
        if not c > 0:
            raise ValueError(f"products must be positive, got {c}")
        lines.append(IsoLine(product=float(c), lr=alpha.copy(), wd=float(c) / alpha))
    return tuple(lines)
