"""Training: one config at a time, or a population of K configs as one batched model."""

from core.train._common import Callback, steps_per_epoch
from core.train._config import (
    ADAM_FAMILY,
    DECOUPLED,
    SGD_FAMILY,
    EpochMetrics,
    RunResult,
    TrainConfig,
    resolve_device,
)
from core.train._memory import members_per_chunk
from core.train._population import check_population, train_population
from core.train._single import train_single

__all__ = ["ADAM_FAMILY", "DECOUPLED", "SGD_FAMILY", "Callback", "EpochMetrics", "RunResult",
           "TrainConfig", "check_population", "members_per_chunk", "resolve_device",
           "steps_per_epoch", "train_population", "train_single"]
