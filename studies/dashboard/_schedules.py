"""The Schedules page's logic: η_t curves of spec schedules, and the weight-decay calculator;
and the λ_t/λ per epoch that the Curves page's equilibrium needs under normalized decay.

Curves come from the very objects training uses (:func:`studies.runner.core_schedule` builds
the ``core.schedules`` object of a :class:`~studies.spec.ScheduleSpec`), so what the page
draws is what a study runs. The calculator converts between the three conventions of
PAPER.md §3 with :func:`core.optim.convert_weight_decay`.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.optim import WD_CONVENTIONS as CONVENTIONS
from core.optim import convert_weight_decay, normalized_decay_factor
from studies.spec import ScheduleSpec, SpecError, StudySpec

MAX_POINTS = 4000  # points per curve: enough for a smooth line, light enough for a browser


def schedule_spec(name: str, params: dict[str, Any]) -> ScheduleSpec:
    """A validated schedule; :class:`SpecError` paths are the field names (``t0``)."""
    return ScheduleSpec(name=name, **{k: v for k, v in params.items() if v is not None})


def eta_series(schedule: ScheduleSpec, *, epochs: int, steps_per_epoch: int
               ) -> tuple[list[float], list[float]]:
    """(fractional epochs, η_t) of ``schedule`` over ``epochs``, every step or, for long runs,
    every k-th step (always including the steps around a restart)."""
    from core.schedules import eta_curve
    from studies.runner import core_schedule

    if not (isinstance(epochs, int) and epochs >= 1):
        raise SpecError("epochs", f"must be an integer >= 1, got {epochs!r}")
    if not (isinstance(steps_per_epoch, int) and steps_per_epoch >= 1):
        raise SpecError("steps_per_epoch", f"must be an integer >= 1, got {steps_per_epoch!r}")
    core = core_schedule(schedule, epochs=epochs)
    total = epochs * steps_per_epoch
    if total <= MAX_POINTS:
        return eta_curve(core, epochs=epochs, steps_per_epoch=steps_per_epoch)
    stride = math.ceil(total / MAX_POINTS)
    steps = sorted(set(range(0, total, stride)) | {total - 1})
    eta = {s: core(s, steps_per_epoch) for s in steps}
    # A restart is a jump: keep the step before each one, or a stride would skip its peak.
    jumps = {b - 1 for a, b in itertools.pairwise(steps) if eta[b] > eta[a] + 1e-12}
    eta.update({s: core(s, steps_per_epoch) for s in jumps})
    steps = sorted(eta)
    return [s / steps_per_epoch for s in steps], [eta[s] for s in steps]


@functools.lru_cache(maxsize=32)
def decay_ratios(schedule: ScheduleSpec, *, epochs: int, steps_per_epoch: int
                 ) -> tuple[float, ...]:
    """Under the normalized convention, per epoch e = 1 … E: the epoch's mean η_t·λ_t over
    η̄_e·λ, with λ_t the paper λ training applies at step t and λ the cell's paper λ.

    λ_t/λ = √(T₀/T_i) for the restart period T_i of step t (:func:`studies.runner.decay_steps`,
    the very schedule objects training steps), weighted by η_t inside an epoch that straddles
    a restart; 1 for schedules without restarts."""
    from studies.runner import decay_steps

    eta, ratio = decay_steps(schedule, epochs=epochs, steps_per_epoch=steps_per_epoch)
    out = []
    for epoch in range(epochs):
        part = slice(epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch)
        total = sum(eta[part])
        out.append(sum(h * r for h, r in zip(eta[part], ratio[part], strict=True)) / total
                   if total > 0 else 1.0)
    return tuple(out)


def study_decay_ratios(spec: StudySpec | None, trials: pd.DataFrame
                       ) -> dict[str, tuple[float, ...]]:
    """:func:`decay_ratios` of each schedule of a study under the normalized convention (S from
    the trials table's ``steps_per_epoch``); empty otherwise, where λ_t is the cell's λ."""
    if spec is None or spec.convention != "normalized" or "steps_per_epoch" not in trials:
        return {}
    steps = pd.to_numeric(trials["steps_per_epoch"], errors="coerce").dropna()
    if steps.empty:
        return {}
    per = int(steps.iloc[0])
    return {s.name: decay_ratios(s, epochs=spec.epochs, steps_per_epoch=per)
            for s in spec.schedules}


@dataclass(frozen=True)
class Conversion:
    """One weight decay in every convention, and what it does per step (η_t = 1)."""

    paper: float  # λ
    pytorch: float  # wd = λ/α
    normalized: float  # λ_norm = λ/f
    factor: float  # f = √(b/(B·T))
    shrink_per_step: float  # weights are multiplied by (1 − λ) each step at η_t = 1
    timescale_steps: float  # τ = 1/λ = 1/(α·wd): EMA timescale of AdamW, in steps
    timescale_epochs: float  # τ in epochs

    def value(self, convention: str) -> float:
        return float(getattr(self, convention))


def convert(value: float, *, convention: str, lr: float, batch_size: int, train_size: int,
            epochs: float) -> Conversion:
    """Convert a weight decay given in ``convention`` at learning rate α = ``lr``, batch size
    b, B = ``train_size`` training points and T = ``epochs`` (per restart period under warm
    restarts). Raises :class:`SpecError` naming the input that is out of range."""
    checks = (("weight decay", value, 0.0, True), ("learning rate α", lr, 0.0, False),
              ("batch size b", batch_size, 1, True), ("training points B", train_size, 1, True),
              ("epochs T", epochs, 0.0, False))
    for name, x, low, inclusive in checks:
        ok = isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
        if not ok or (x < low if inclusive else x <= low):
            bound = f">= {low}" if inclusive else f"> {low}"
            raise SpecError(name, f"must be a number {bound}, got {x!r}")
    if convention not in CONVENTIONS:
        raise SpecError("convention", f"must be one of {', '.join(CONVENTIONS)}")
    f = normalized_decay_factor(batch_size=int(batch_size), train_size=int(train_size),
                                epochs=float(epochs))
    out = {c: float(convert_weight_decay(value, from_convention=convention, to_convention=c,
                                         lr=lr, factor=f)) for c in CONVENTIONS}
    lam = out["paper"]
    tau = 1.0 / lam if lam > 0 else math.inf
    return Conversion(paper=lam, pytorch=out["pytorch"], normalized=out["normalized"], factor=f,
                      shrink_per_step=lam, timescale_steps=tau,
                      timescale_epochs=tau / math.ceil(train_size / batch_size))


def restart_epochs(schedule: ScheduleSpec, epochs: float) -> list[float]:
    """Epochs at which a warm_restarts schedule restarts within ``epochs`` ([] otherwise)."""
    from core.schedules import WarmRestarts

    if schedule.name != "warm_restarts" or schedule.t0 is None:
        return []
    return WarmRestarts(t0=schedule.t0, t_mult=schedule.t_mult or 1.0).restart_epochs(epochs)
