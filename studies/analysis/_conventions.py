"""Lines of constant α·wd on a landscape: the one convention fact analysis adds to core's.

The conventions themselves (paper λ, PyTorch wd = λ/α, normalized λ = λ_norm·√(b/(B·T))) and
their conversions live in :mod:`core.optim._conventions`, for floats, numpy arrays and
tensors alike; tables and figures call them from there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


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
