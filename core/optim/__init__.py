"""The four optimizers of Loshchilov & Hutter (ICLR 2019) in the paper's parametrization.

``lr`` is α, ``weight_decay`` the paper's λ (per-step shrink η_t·λ, never scaled by α), and
each param group carries ``eta`` (η_t), the schedule multiplier. SGD and Adam apply λ as L2;
SGDW and AdamW decay decoupled. The functional updates accept per-member hyperparameter
tensors for populations of K stacked models.
"""

from core.optim._conventions import (
    WD_CONVENTIONS,
    WD_LABELS,
    convert_weight_decay,
    from_paper,
    normalized_decay_factor,
    to_paper,
)
from core.optim._functional import (
    Hyper,
    adam_reference,
    adam_update,
    sgd_reference,
    sgd_update,
)
from core.optim._member import member_adam_step, member_sgd_step
from core.optim._optimizers import OPTIMIZERS, SGD, SGDW, Adam, AdamW
from core.optim._param_groups import DECAY_RULES, param_groups

__all__ = [
    "DECAY_RULES",
    "OPTIMIZERS",
    "SGD",
    "SGDW",
    "WD_CONVENTIONS",
    "WD_LABELS",
    "Adam",
    "AdamW",
    "Hyper",
    "adam_reference",
    "adam_update",
    "convert_weight_decay",
    "from_paper",
    "member_adam_step",
    "member_sgd_step",
    "normalized_decay_factor",
    "param_groups",
    "sgd_reference",
    "sgd_update",
    "to_paper",
]
