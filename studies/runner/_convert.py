"""From the spec's vocabulary to core's: schedules, models, training configs, λ conventions.

Weight decay reaches core as the paper's λ, whatever convention the grid is written in:
``paper`` λ as given; ``pytorch`` λ = wd·α (:func:`core.optim.to_paper`); ``normalized``
λ_norm with ``normalized_decay=True``, so that core recomputes λ = λ_norm·√(b/(B·T)) for
each restart period T.
"""

from __future__ import annotations

import math

from core.models import ModelSpec as CoreModelSpec
from core.optim import to_paper
from core.schedules import (
    Constant,
    Cosine,
    Schedule,
    StepDrop,
    WarmRestarts,
    Warmup,
    eta_curve,
    period_epochs,
)
from core.train import TrainConfig
from studies.spec import Cell, ScheduleSpec, StudySpec


def core_schedule(schedule: ScheduleSpec, *, epochs: int) -> Schedule:
    """The η_t of ``schedule`` as a core schedule object (wrapped in Warmup if asked for)."""
    inner: Constant | StepDrop | Cosine | WarmRestarts
    if schedule.name == "constant":
        inner = Constant()
    elif schedule.name == "step":
        inner = StepDrop(milestones=tuple(schedule.milestones or ()), factor=schedule.factor)
    elif schedule.name == "cosine":
        inner = Cosine(epochs=epochs, eta_min=schedule.eta_min or 0.0)
    elif schedule.name == "warm_restarts":
        inner = WarmRestarts(t0=schedule.t0, t_mult=schedule.t_mult or 1.0,
                             eta_min=schedule.eta_min or 0.0)
    else:  # the spec validates names; a new one must be added here
        raise ValueError(f"unknown schedule {schedule.name!r}")
    return Warmup(inner=inner, epochs=schedule.warmup_epochs) if schedule.warmup_epochs else inner


def first_period(schedule: ScheduleSpec, *, epochs: int) -> float:
    """T₀, the period whose λ a cell's paper λ is under the normalized convention: the first
    restart period under warm restarts, else the whole run (core's ``period_epochs`` at step 0)."""
    return period_epochs(core_schedule(schedule, epochs=epochs), 0, 1, epochs)


def decay_steps(schedule: ScheduleSpec, *, epochs: int, steps_per_epoch: int
                ) -> tuple[list[float], list[float]]:
    """(η_t, λ_t/λ) at every step t = 0 … E·S − 1, stepped as core.train steps them.

    λ_t/λ relates training's paper λ at step t to a cell's paper λ under the normalized
    convention: core recomputes λ_t = λ_norm·√(b/(B·T_i)) for the restart period T_i that step t
    falls in, and the cell's λ is the first period's (:func:`first_period`), so λ_t/λ =
    √(T₀/T_i): 1 for schedules without restarts. (Under the other conventions λ_t = λ.)
    """
    core, per = core_schedule(schedule, epochs=epochs), steps_per_epoch
    first = first_period(schedule, epochs=epochs)
    _, eta = eta_curve(core, epochs=epochs, steps_per_epoch=per)
    return eta, [math.sqrt(first / period_epochs(core, t, per, epochs)) for t in range(len(eta))]


def core_model(spec: StudySpec) -> CoreModelSpec:
    """The spec's model as core's ModelSpec (fields that do not apply keep core's defaults)."""
    m = spec.model
    if isinstance(m, CoreModelSpec):  # the spec reuses core's model description
        return m
    kwargs = {name: getattr(m, name) for name in ("widths", "channels", "depth", "width", "norm")
              if getattr(m, name) is not None}
    return CoreModelSpec(name=m.name, **kwargs)


def train_config(spec: StudySpec, cell: Cell) -> TrainConfig:
    """The core TrainConfig of one cell (its weight decay in the spec's convention)."""
    normalized = cell.convention == "normalized"  # core turns λ_norm into λ per period
    lam = cell.weight_decay if normalized else to_paper(
        cell.weight_decay, convention=cell.convention, lr=cell.lr)
    return TrainConfig(
        optimizer=cell.optimizer, lr=float(cell.lr), weight_decay=float(lam), seed=int(cell.seed),
        epochs=spec.epochs, batch_size=spec.batch_size,
        schedule=core_schedule(spec.schedule_named(cell.schedule), epochs=spec.epochs),
        normalized_decay=normalized, momentum=spec.momentum,
        betas=tuple(spec.betas),  # type: ignore[arg-type]
        eps=spec.eps, decay_rule=spec.decay, dtype=spec.dtype)


def family(optimizer: str) -> str:
    """"adam" or "sgd": only one family can share a population."""
    return "adam" if optimizer in ("adam", "adamw") else "sgd"
