"""Split a model's parameters into a decayed and a non-decayed group.

Common practice (timm, nanoGPT, fastai ``wd_bn_bias=False``, optax ``mask``) decays only
weight matrices and convolution kernels (``ndim >= 2``) and leaves biases and normalization
scales alone: decaying those usually hurts (PAPER.md section 6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.catalog import DECAY_RULES

if TYPE_CHECKING:  # importing DECAY_RULES needs no torch
    from torch import nn


def param_groups(model: nn.Module, *, weight_decay: float, rule: str = "matrices") -> list[dict]:
    """Param groups for the optimizers of :mod:`core.optim`: ``"matrices"`` decays parameters
    with ``ndim >= 2``, ``"all"`` decays everything. ``weight_decay`` is the paper's λ.

    Returns up to two groups, ``{"params": [(name, tensor), ...], "weight_decay": λ,
    "decay": True}`` and the same with ``weight_decay=0.0, "decay": False``; empty groups are
    dropped. Frozen parameters (``requires_grad=False``) are left out. Every trainable
    parameter lands in exactly one group (asserted).
    """
    if rule not in DECAY_RULES:
        raise ValueError(f"rule must be one of {', '.join(DECAY_RULES)}; got {rule!r}")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decayed, kept = [], []
    for name, p in named:
        (decayed if rule == "all" or p.dim() >= 2 else kept).append((name, p))
    assert len(decayed) + len(kept) == len(named)
    assert {id(p) for _, p in decayed}.isdisjoint(id(p) for _, p in kept)
    groups = [
        {"params": decayed, "weight_decay": weight_decay, "decay": True},
        {"params": kept, "weight_decay": 0.0, "decay": False},
    ]
    return [g for g in groups if g["params"]]
