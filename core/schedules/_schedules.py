"""Schedule multipliers η_t as pure functions of the step (PAPER.md section 4).

Every schedule is a frozen dataclass called as ``schedule(step, steps_per_epoch)``, where
``step`` counts the updates already made (0 for the first batch). The fractional epoch
``step / steps_per_epoch`` plays the role of the paper's T_cur, advanced every batch. There
are no hidden counters: the same step always gives the same η, so schedules are easy to plot
and to test, and resuming from a checkpoint needs nothing but the step.

η multiplies α (the learning rate) and, for the decoupled optimizers, λ as well: the
per-step shrink is η_t·λ in the paper's convention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _check(name: str, value: float, *, positive: bool = True) -> None:
    """A finite number > 0 (``positive``) or >= 0, else a ValueError naming ``name``."""
    if (not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
            or (value <= 0 if positive else value < 0)):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


def _epoch(step: int, steps_per_epoch: int) -> float:
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be an integer >= 1, got {steps_per_epoch!r}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step!r}")
    return step / steps_per_epoch


@dataclass(frozen=True)
class Constant:
    """η_t = 1 (the paper's "fixed" schedule)."""

    def __call__(self, step: int, steps_per_epoch: int) -> float:
        _epoch(step, steps_per_epoch)
        return 1.0


@dataclass(frozen=True)
class StepDrop:
    """η multiplied by ``factor`` at each of ``milestones`` (epochs).

    The paper's step-drop: ×0.1 at epochs 30, 60 and 80 of 100. A milestone e applies from
    the first batch of epoch e (fractional epoch ≥ e).
    """

    milestones: tuple[float, ...]  # epochs at which η drops, strictly increasing
    factor: float = 0.1  # multiplier applied at each milestone, in (0, 1]

    def __post_init__(self) -> None:
        object.__setattr__(self, "milestones", tuple(float(m) for m in self.milestones))
        for m in self.milestones:
            _check("milestones", m)
        if list(self.milestones) != sorted(set(self.milestones)):
            raise ValueError(f"milestones must be strictly increasing, got {self.milestones}")
        if not (0.0 < self.factor <= 1.0):
            raise ValueError(f"factor must be in (0, 1], got {self.factor!r}")

    def __call__(self, step: int, steps_per_epoch: int) -> float:
        epoch = _epoch(step, steps_per_epoch)
        return self.factor ** sum(1 for m in self.milestones if epoch >= m)


@dataclass(frozen=True)
class Cosine:
    """Cosine annealing over ``epochs``: η = η_min + ½(η_max − η_min)(1 + cos(π·T_cur/T)).

    T_cur is the fractional epoch; after ``epochs`` η stays at η_min.
    """

    epochs: float  # T: the length of the annealing, in epochs
    eta_min: float = 0.0  # η at the end
    eta_max: float = 1.0  # η at the start

    def __post_init__(self) -> None:
        _check("epochs", self.epochs)
        _check("eta_min", self.eta_min, positive=False)
        _check("eta_max", self.eta_max, positive=False)

    def __call__(self, step: int, steps_per_epoch: int) -> float:
        t_cur = min(_epoch(step, steps_per_epoch), self.epochs)
        return _cosine(t_cur, self.epochs, self.eta_min, self.eta_max)

    def period(self, step: int, steps_per_epoch: int) -> float:
        """T, the length of the run; normalized weight decay uses it."""
        return self.epochs


@dataclass(frozen=True)
class WarmRestarts:
    """Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017).

    T_cur counts the (fractional) epochs since the last restart, advanced every batch; when
    it reaches T_i, η restarts at η_max and T_{i+1} = T_i·T_mult. With T₀ = 100, T_mult = 2
    the restarts fall at epochs 100, 300, 700, 1500.
    """

    t0: float  # T₀: the length of the first period, in epochs
    t_mult: float = 1.0  # T_mult: each period is this many times longer than the last (>= 1)
    eta_min: float = 0.0  # η at the end of each period
    eta_max: float = 1.0  # η at each (re)start

    def __post_init__(self) -> None:
        _check("t0", self.t0)
        if not (math.isfinite(self.t_mult) and self.t_mult >= 1.0):
            raise ValueError(f"t_mult must be a finite number >= 1, got {self.t_mult!r}")
        _check("eta_min", self.eta_min, positive=False)
        _check("eta_max", self.eta_max, positive=False)

    def locate(self, epoch: float) -> tuple[float, float]:
        """(T_cur, T_i): the position inside the current period and that period's length."""
        if self.t_mult == 1.0:
            index = math.floor(epoch / self.t0)
            return epoch - index * self.t0, self.t0
        # Periods start at t0·(t_mult^i − 1)/(t_mult − 1); solve for i, then guard rounding.
        index = math.floor(math.log(1.0 + epoch * (self.t_mult - 1.0) / self.t0, self.t_mult))
        while self._start(index) > epoch:
            index -= 1
        while self._start(index + 1) <= epoch:
            index += 1
        return epoch - self._start(index), self.t0 * self.t_mult**index

    def _start(self, index: int) -> float:
        if self.t_mult == 1.0:
            return self.t0 * index
        return self.t0 * (self.t_mult**index - 1.0) / (self.t_mult - 1.0)

    def restart_epochs(self, until: float) -> list[float]:
        """Epochs at which η restarts, up to and including ``until``."""
        out, index = [], 1
        while (start := self._start(index)) <= until:
            out.append(start)
            index += 1
        return out

    def __call__(self, step: int, steps_per_epoch: int) -> float:
        t_cur, t_i = self.locate(_epoch(step, steps_per_epoch))
        return _cosine(t_cur, t_i, self.eta_min, self.eta_max)

    def period(self, step: int, steps_per_epoch: int) -> float:
        """T_i of the period this step falls in; normalized weight decay uses it."""
        return self.locate(_epoch(step, steps_per_epoch))[1]


@dataclass(frozen=True)
class Warmup:
    """Linear warm-up in front of any schedule (common practice; not in the paper).

    η_t = inner(step) · min(1, (step + 1) / (warmup_epochs · steps_per_epoch)): the first
    update already moves, and the full η is reached at the end of the warm-up.
    """

    inner: Constant | StepDrop | Cosine | WarmRestarts  # the schedule being warmed up
    epochs: float  # length of the warm-up, in epochs (> 0)

    def __post_init__(self) -> None:
        _check("warmup_epochs", self.epochs)

    def __call__(self, step: int, steps_per_epoch: int) -> float:
        ramp = min(1.0, (step + 1) / (self.epochs * steps_per_epoch))
        return self.inner(step, steps_per_epoch) * ramp

    def period(self, step: int, steps_per_epoch: int) -> float | None:
        inner_period = getattr(self.inner, "period", None)
        return inner_period(step, steps_per_epoch) if inner_period else None


Schedule = Constant | StepDrop | Cosine | WarmRestarts | Warmup


def _cosine(t_cur: float, t_i: float, eta_min: float, eta_max: float) -> float:
    return eta_min + 0.5 * (eta_max - eta_min) * (1.0 + math.cos(math.pi * t_cur / t_i))


def period_epochs(schedule: Schedule, step: int, steps_per_epoch: int, total_epochs: float
                  ) -> float:
    """T for normalized weight decay: the restart period under warm restarts, else the run."""
    period = getattr(schedule, "period", None)
    value = period(step, steps_per_epoch) if period else None
    return float(total_epochs) if value is None else float(value)


def eta_curve(schedule: Schedule, *, epochs: float, steps_per_epoch: int
              ) -> tuple[list[float], list[float]]:
    """(fractional epochs, η) at every step of a run, for plotting."""
    n_steps = math.ceil(epochs * steps_per_epoch)
    xs = [s / steps_per_epoch for s in range(n_steps)]
    return xs, [schedule(s, steps_per_epoch) for s in range(n_steps)]
