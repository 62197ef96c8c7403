"""Schedule multipliers η_t as pure functions of the step, and a driver for the optimizers."""

from core.schedules._driver import NormalizedDecay, ScheduleDriver
from core.schedules._schedules import (
    Constant,
    Cosine,
    Schedule,
    StepDrop,
    WarmRestarts,
    Warmup,
    eta_curve,
    period_epochs,
)

__all__ = ["Constant", "Cosine", "NormalizedDecay", "Schedule", "ScheduleDriver", "StepDrop",
           "WarmRestarts", "Warmup", "eta_curve", "period_epochs"]
