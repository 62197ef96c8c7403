"""What one training run is (:class:`TrainConfig`) and what it produces (:class:`RunResult`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from core.catalog import DTYPES as DTYPE_NAMES
from core.optim import DECAY_RULES, OPTIMIZERS
from core.schedules import Constant, Schedule

ADAM_FAMILY = frozenset({"adam", "adamw"})
SGD_FAMILY = frozenset({"sgd", "sgdw"})
DECOUPLED = frozenset({"sgdw", "adamw"})
DTYPES = {name: getattr(torch, name) for name in DTYPE_NAMES}  # torch.float32, torch.float64


@dataclass(frozen=True)
class TrainConfig:
    """One training run: optimizer, its hyperparameters in the paper's parametrization, budget.

    ``weight_decay`` is the paper's λ (per-step shrink η_t·λ for SGDW/AdamW, L2 coefficient
    for SGD/Adam), or λ_norm when ``normalized_decay`` is set, in which case
    λ = λ_norm·√(b/(B·T)) is recomputed for every restart period T.
    """

    optimizer: str  # "sgd" | "sgdw" | "adam" | "adamw"
    lr: float  # α, the initial learning rate
    weight_decay: float  # paper λ (or λ_norm if normalized_decay)
    seed: int = 0  # weight init, data order and augmentation
    epochs: int = 10  # passes over the training set
    batch_size: int = 64  # b
    schedule: Schedule = field(default_factory=Constant)  # η_t
    normalized_decay: bool = False  # weight_decay is λ_norm (paper, App. B)
    momentum: float = 0.9  # β₁ of SGD / SGDW
    betas: tuple[float, float] = (0.9, 0.999)  # β₁, β₂ of Adam / AdamW
    eps: float = 1e-8  # ε of Adam / AdamW, added outside the square root
    decay_rule: str = "matrices"  # decay tensors with ndim >= 2 ("matrices") or "all"
    dtype: str = "float32"  # "float32" | "float64" (tests use float64 for parity)
    divergence_loss: float = 100.0  # a training loss above this (or NaN/inf) is divergence

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; "
                             f"got {self.optimizer!r}")
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.decay_rule not in DECAY_RULES:
            raise ValueError(f"decay_rule must be one of {', '.join(DECAY_RULES)}; "
                             f"got {self.decay_rule!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {self.dtype!r}")

    @property
    def family(self) -> str:
        """"adam" or "sgd": members of one population must share it."""
        return "adam" if self.optimizer in ADAM_FAMILY else "sgd"

    @property
    def decoupled(self) -> bool:
        return self.optimizer in DECOUPLED

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def shared_key(self) -> tuple:
        """Everything members of one population must have in common."""
        return (self.family, self.epochs, self.batch_size, self.schedule, self.normalized_decay,
                self.momentum, tuple(self.betas), self.eps, self.decay_rule, self.dtype,
                self.divergence_loss)


@dataclass(frozen=True)
class EpochMetrics:
    """Metrics at the end of one epoch (errors are fractions in [0, 1])."""

    epoch: int  # 1-based
    train_loss: float  # mean cross-entropy over the epoch's minibatches
    train_error: float  # error on the epoch's minibatches (train mode, as trained)
    val_error: float  # held-out validation split, eval mode
    test_error: float  # test split, eval mode
    val_loss: float
    test_loss: float
    eta: float  # η_t at the last step of the epoch
    weight_norm: float  # L2 norm of the decayed parameters
    elapsed_s: float  # wall time since the start of training
    eta_epoch_mean: float = math.nan  # mean η_t over the epoch's steps
    # Telemetry (core.train._telemetry: radians per step, √Σ‖W‖², means; NaN when off)
    angular_update_bn: float = math.nan
    angular_update_other: float = math.nan
    weight_norm_bn: float = math.nan
    weight_norm_other: float = math.nan


@dataclass
class RunResult:
    """The history of one run. A diverged run keeps the epochs before it diverged."""

    config: TrainConfig
    history: list[EpochMetrics] = field(default_factory=list)
    diverged_epoch: int | None = None  # epoch (1-based) in which the loss blew up
    stopped_epoch: int | None = None  # epoch after which a callback stopped (pruned) it
    duration_s: float = 0.0

    @property
    def diverged(self) -> bool:
        return self.diverged_epoch is not None

    @property
    def final(self) -> EpochMetrics | None:
        return self.history[-1] if self.history else None

    @property
    def best_test_error(self) -> float:
        return min((m.test_error for m in self.history), default=math.nan)

    @property
    def best_val_error(self) -> float:
        return min((m.val_error for m in self.history), default=math.nan)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; anything else is taken as given."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device not in ("cpu", "cuda", "mps") and not device.startswith("cuda:"):
        raise ValueError(f"device must be auto, cpu, cuda or mps; got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available here")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' was asked for but Apple MPS is not available here")
    return torch.device(device)
