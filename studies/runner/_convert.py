"""From the spec's vocabulary to core's: schedules, models, training configs, λ conventions.

Weight decay reaches core as the paper's λ, whatever convention the grid is written in:
``paper`` λ as given; ``pytorch`` λ = wd·α (:func:`core.optim.to_paper`); ``normalized``
λ_norm with ``normalized_decay=True``, so that core recomputes λ = λ_norm·√(b/(B·T)) for
each restart period T.
"""

from __future__ import annotations

from core.models import ModelSpec as CoreModelSpec
from core.optim import to_paper
from core.schedules import Constant, Cosine, Schedule, StepDrop, WarmRestarts, Warmup
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
