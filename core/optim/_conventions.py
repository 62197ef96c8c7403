"""The three conventions for "weight decay" (PAPER.md section 3), and conversions between them.

=============  ===========================================  ===============================
convention     meaning                                      relation to the paper's λ
=============  ===========================================  ===============================
``paper``      λ: the per-step shrink is η_t·λ              λ
``pytorch``    wd: the per-step shrink is lr_t·wd,           wd = λ / α
               lr_t = α·η_t (PyTorch, optax, Keras, fastai)
``normalized`` λ_norm (App. B of the paper)                  λ = λ_norm · √(b / (B·T))
=============  ===========================================  ===============================

b is the batch size, B the number of training points and T the number of epochs (the length
of the current restart period under warm restarts).
"""

from __future__ import annotations

import math

WD_CONVENTIONS: tuple[str, ...] = ("paper", "pytorch", "normalized")

WD_LABELS: dict[str, str] = {
    "paper": "λ (paper)",
    "pytorch": "wd = λ/α (PyTorch)",
    "normalized": "λ_norm (normalized)",
}


def normalized_decay_factor(*, batch_size: int, train_size: int, epochs: float) -> float:
    """√(b / (B·T)): the factor with λ = λ_norm · factor (paper, Appendix B)."""
    for name, value in (("batch_size", batch_size), ("train_size", train_size), ("epochs", epochs)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return math.sqrt(batch_size / (train_size * epochs))


def to_paper(
    value: float, *, convention: str, lr: float | None = None, factor: float | None = None
) -> float:
    """Convert a weight decay in ``convention`` to the paper's λ.

    ``lr`` (α) is needed for ``pytorch``; ``factor`` (:func:`normalized_decay_factor`) for
    ``normalized``.
    """
    if convention == "paper":
        return value
    if convention == "pytorch":
        return value * _required(lr, "lr", convention)
    if convention == "normalized":
        return value * _required(factor, "factor", convention)
    raise ValueError(_unknown(convention))


def from_paper(
    lam: float, *, convention: str, lr: float | None = None, factor: float | None = None
) -> float:
    """Convert the paper's λ to ``convention`` (the inverse of :func:`to_paper`)."""
    if convention == "paper":
        return lam
    if convention == "pytorch":
        alpha = _required(lr, "lr", convention)
        if alpha == 0.0:
            raise ValueError("lr must be > 0 to express a weight decay as PyTorch wd = λ/α")
        return lam / alpha
    if convention == "normalized":
        return lam / _required(factor, "factor", convention)
    raise ValueError(_unknown(convention))


def convert_weight_decay(
    value: float,
    *,
    from_convention: str,
    to_convention: str,
    lr: float | None = None,
    factor: float | None = None,
) -> float:
    """Convert a weight decay between any two of :data:`WD_CONVENTIONS`."""
    lam = to_paper(value, convention=from_convention, lr=lr, factor=factor)
    return from_paper(lam, convention=to_convention, lr=lr, factor=factor)


def _required(value: float | None, name: str, convention: str) -> float:
    if value is None or not math.isfinite(value) or value < 0:
        raise ValueError(
            f"{name} must be a finite number >= 0 for the {convention!r} convention, got {value!r}"
        )
    return float(value)


def _unknown(convention: str) -> str:
    return f"convention must be one of {', '.join(WD_CONVENTIONS)}; got {convention!r}"
