"""The three conventions for "weight decay" (PAPER.md section 3), and conversions between them.

=============  ===========================================  ===============================
convention     meaning                                      relation to the paper's λ
=============  ===========================================  ===============================
``paper``      λ: the per-step shrink is η_t·λ              λ
``pytorch``    wd: the per-step shrink is lr_t·wd,           wd = λ / α
               lr_t = α·η_t (PyTorch, optax, Keras, fastai)
``normalized`` λ_norm (App. B of the paper)                  λ = λ_norm · f,  f = √(b / (B·T))
=============  ===========================================  ===============================

b is the batch size, B the number of training points and T the number of epochs (the length
of the current restart period under warm restarts). The formulas are written once, for any
numeric type: Python floats, numpy arrays (broadcasting: one α per cell, say) and torch
tensors all go through the same arithmetic and come back in their own type.
"""

from __future__ import annotations

import math
from typing import Any

from core.catalog import CONVENTIONS as WD_CONVENTIONS


def normalized_decay_factor(*, batch_size: Any, train_size: Any, epochs: Any) -> Any:
    """f = √(b / (B·T)), so that λ = λ_norm · f (paper, Appendix B)."""
    for name, value in (("batch_size", batch_size), ("train_size", train_size), ("epochs", epochs)):
        if not _in_range(value, strict=True):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    ratio = batch_size / (train_size * epochs)
    if isinstance(ratio, float):
        return math.sqrt(ratio)
    if hasattr(ratio, "sqrt"):  # a tensor
        return ratio.sqrt()
    import numpy as np  # only for arrays: importing this module loads neither torch nor numpy

    return np.sqrt(ratio)


def to_paper(value: Any, *, convention: str, lr: Any = None, factor: Any = None) -> Any:
    """The paper's λ of a weight decay in ``convention``: λ = wd·α, or λ = λ_norm·f.

    ``lr`` (α) is needed for ``pytorch``, ``factor`` (:func:`normalized_decay_factor`) for
    ``normalized``; both must be finite and >= 0.
    """
    value = _numeric(value)
    if convention == "paper":
        return value
    if convention == "pytorch":
        return value * _checked(lr, "lr", convention, divisor=False)
    if convention == "normalized":
        return value * _checked(factor, "factor", convention, divisor=False)
    raise ValueError(_unknown(convention))


def from_paper(lam: Any, *, convention: str, lr: Any = None, factor: Any = None) -> Any:
    """The paper's λ in ``convention`` (the inverse of :func:`to_paper`): wd = λ/α, λ_norm = λ/f.

    Here ``lr`` and ``factor`` must be > 0: they divide.
    """
    lam = _numeric(lam)
    if convention == "paper":
        return lam
    if convention == "pytorch":
        return lam / _checked(lr, "lr", convention, divisor=True)
    if convention == "normalized":
        return lam / _checked(factor, "factor", convention, divisor=True)
    raise ValueError(_unknown(convention))


def convert_weight_decay(value: Any, *, from_convention: str, to_convention: str,
                         lr: Any = None, factor: Any = None) -> Any:
    """Convert a weight decay between any two of :data:`WD_CONVENTIONS`, through the paper's λ."""
    if to_convention not in WD_CONVENTIONS:
        raise ValueError(_unknown(to_convention))
    lam = to_paper(value, convention=from_convention, lr=lr, factor=factor)
    return from_paper(lam, convention=to_convention, lr=lr, factor=factor)


def _numeric(x: Any) -> Any:
    """A list or tuple as an array (``[0.1] * 2`` would repeat it, not scale it)."""
    if isinstance(x, list | tuple):
        import numpy as np

        return np.asarray(x, dtype=float)
    return x


def _in_range(x: Any, *, strict: bool) -> bool:
    """Every element of ``x`` (a number, array or tensor) finite and > 0 (``strict``) or >= 0."""
    try:
        ok = ((x > 0) if strict else (x >= 0)) & (x < math.inf)
    except TypeError:  # None, a string, ...
        return False
    return bool(ok.all()) if hasattr(ok, "all") else bool(ok)


def _checked(x: Any, name: str, convention: str, *, divisor: bool) -> Any:
    bound = "> 0" if divisor else ">= 0"
    if not _in_range(x, strict=divisor):
        raise ValueError(f"{name} must be a finite number {bound} for the {convention!r} "
                         f"convention, got {x!r}")
    return x


def _unknown(convention: str) -> str:
    return f"convention must be one of {', '.join(WD_CONVENTIONS)}; got {convention!r}"
