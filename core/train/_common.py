"""Pieces shared by single and population training, so both see exactly the same run.

Data order, augmentation draws and weight initialisation all derive from the run's seed,
which is what makes member k of a population equal to config k trained alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

import torch

from core.data import DataSplits, augment_cifar_batch
from core.train._config import EpochMetrics

Callback = Callable[[int, Mapping[int, EpochMetrics]], Iterable[int] | None]
"""Called after every epoch with (epoch, {member index: metrics of the still-running members}).

Returns the indices of members to stop (prune) now, or None. A single run is member 0.
"""

EVAL_ROWS = 32_768  # rows (members × samples) per evaluation forward pass: bounds memory


def steps_per_epoch(train_size: int, batch_size: int) -> int:
    """The last, smaller batch is kept: every training point is seen once per epoch."""
    return math.ceil(train_size / batch_size)


class DataOrder:
    """The minibatch indices and augmentation draws of one seed, epoch after epoch.

    Both streams use CPU generators, so the order is the same whatever the device.
    """

    def __init__(self, seed: int, data: DataSplits, batch_size: int) -> None:
        self._order = torch.Generator().manual_seed(seed)
        self._augment = torch.Generator().manual_seed(seed + 1_000_003)
        self._data = data
        self._batch_size = batch_size

    def epoch(self) -> list[torch.Tensor]:
        """Index tensors (on the data's device) of this epoch's minibatches."""
        n = self._data.train_x.shape[0]
        perm = torch.randperm(n, generator=self._order).to(self._data.train_x.device)
        return list(perm.split(self._batch_size))

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._data.train_x[index]
        if self._data.augment == "cifar":
            x = augment_cifar_batch(x, generator=self._augment)
        return x, self._data.train_y[index]


def prepare_data(data: DataSplits, device: torch.device, dtype: torch.dtype) -> DataSplits:
    """The splits on the training device, inputs in the training dtype."""
    moved = data.to(device)
    return replace(moved, train_x=moved.train_x.to(dtype), val_x=moved.val_x.to(dtype),
                   test_x=moved.test_x.to(dtype))


def errors(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Misclassified samples, counted along the last axis of ``y``: logits (B, C) with y (B,),
    or a population's (K, C, B) with y (K, B); the classes are axis 1, as F.cross_entropy's.
    ``max(dim=1).indices`` is argmax (the first maximum), and on the strided class axis of
    (K, C, B) it is about 7× faster than ``argmax`` (torch 2.14, CPU)."""
    return (logits.max(dim=1).indices != y).sum(dim=-1)
