"""The four optimizers of Loshchilov & Hutter (ICLR 2019) in the paper's parametrization.

``lr`` is α, ``weight_decay`` the paper's λ (per-step shrink η_t·λ, never scaled by α), and
each param group carries ``eta`` (η_t), the schedule multiplier. SGD and Adam apply λ as L2;
SGDW and AdamW decay decoupled. Single models step through :mod:`._functional`; populations
of K stacked models through the fused (K, P) kernels of :mod:`._member`.

Importing this package is light: the weight-decay conventions and :data:`DECAY_RULES` need
neither torch nor numpy (``studies.export`` and ``studies.analysis`` import them), and the
torch-backed names load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from core.optim._conventions import (
    WD_CONVENTIONS,
    convert_weight_decay,
    from_paper,
    normalized_decay_factor,
    to_paper,
)
from core.optim._param_groups import DECAY_RULES, param_groups

if TYPE_CHECKING:
    from core.optim._functional import adam_reference, adam_update, sgd_reference, sgd_update
    from core.optim._member import member_adam_step, member_sgd_step
    from core.optim._optimizers import OPTIMIZERS, SGD, SGDW, Adam, AdamW

_LAZY = {
    **dict.fromkeys(("adam_reference", "adam_update", "sgd_reference", "sgd_update"),
                    "_functional"),
    **dict.fromkeys(("member_adam_step", "member_sgd_step"), "_member"),
    **dict.fromkeys(("OPTIMIZERS", "SGD", "SGDW", "Adam", "AdamW"), "_optimizers"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


__all__ = ["DECAY_RULES", "OPTIMIZERS", "SGD", "SGDW", "WD_CONVENTIONS", "Adam", "AdamW",
           "adam_reference", "adam_update", "convert_weight_decay", "from_paper",
           "member_adam_step", "member_sgd_step", "normalized_decay_factor", "param_groups",
           "sgd_reference", "sgd_update", "to_paper"]
