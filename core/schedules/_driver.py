"""Drive the optimizers' η (and normalized λ) from a schedule, one step at a time."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.optim import normalized_decay_factor
from core.schedules._schedules import Schedule, period_epochs


@dataclass(frozen=True)
class NormalizedDecay:
    """Normalized weight decay (paper, App. B): λ = λ_norm · √(b / (B·T)).

    T is the length of the current restart period under warm restarts (so λ is recomputed
    per period: SGDWR / AdamWR), else the number of epochs of the run.
    """

    lambda_norm: float  # λ_norm, the normalized weight decay
    batch_size: int  # b
    train_size: int  # B, the number of training points

    def paper_lambda(self, period: float) -> float:
        """The paper's λ for a period (or run) of ``period`` epochs."""
        return self.lambda_norm * normalized_decay_factor(batch_size=self.batch_size,
                                                          train_size=self.train_size, epochs=period)


@dataclass
class ScheduleDriver:
    """Sets ``eta`` in every param group before each step (and λ for normalized decay).

    Call :meth:`apply` with the number of updates already made, then ``optimizer.step()``.
    Stateless apart from the optimizer it writes to: ``apply(step)`` for any step gives the
    same values, which makes resuming trivial. With ``normalized`` set, groups marked
    ``decay=True`` (see :func:`core.optim.param_groups`) get λ from it; other groups keep
    their weight decay.
    """

    optimizer: torch.optim.Optimizer
    schedule: Schedule
    steps_per_epoch: int
    total_epochs: float
    normalized: NormalizedDecay | None = None

    def apply(self, step: int) -> float:
        """Write η_t (and λ_t) into the param groups; returns η_t."""
        eta = self.schedule(step, self.steps_per_epoch)
        lam = None if self.normalized is None else self.normalized.paper_lambda(
            period_epochs(self.schedule, step, self.steps_per_epoch, self.total_epochs))
        for group in self.optimizer.param_groups:
            group["eta"] = eta
            if lam is not None and group.get("decay", True):
                group["weight_decay"] = lam
        return eta
