"""The container every data set is loaded into: standardized tensors for three disjoint parts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class DataSplits:
    """A classification data set, split, standardized and ready to index on one device.

    Small data sets live on the device whole, so the trainer draws mini-batches by indexing
    (``train_x[idx]``) instead of going through a DataLoader; this is what lets a population of
    models train on one shared batch per step without host round trips.

    Inputs were standardized with statistics of the training part only, so validation and test
    never leak into preprocessing. ``mean`` and ``std`` are kept to undo it (for display, or to
    check a pixel against its file): ``raw = x * std + mean`` in the [0, 1] pixel scale.
    """

    name: str  # data set name: "digits" | "mnist1d" | "fashion_mnist" | "cifar10" (or ad hoc)
    train_x: Tensor  # float32 training inputs, shape (N_train, *input_shape), standardized
    train_y: Tensor  # int64 training labels in [0, num_classes), shape (N_train,)
    val_x: Tensor  # float32 validation inputs, carved out of the training data
    val_y: Tensor  # int64 validation labels
    test_x: Tensor  # float32 test inputs (the official test set where there is one)
    test_y: Tensor  # int64 test labels
    num_classes: int  # number of classes; labels are 0..num_classes-1
    input_shape: tuple[int, ...]  # per-sample shape: images (C, H, W) such as (1, 8, 8) or
    # (3, 32, 32); signals (C, L) such as MNIST-1D's (1, 40)
    augment: str | None  # training augmentation the data calls for: "cifar" or None
    class_names: tuple[str, ...] = ()  # human-readable label names, index = label; may be empty
    mean: Tensor | None = None  # standardization offset, broadcastable to input_shape, [0,1] scale
    std: Tensor | None = None  # standardization scale, broadcastable to input_shape

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", tuple(int(d) for d in self.input_shape))
        for part in ("train", "val", "test"):
            x, y = getattr(self, f"{part}_x"), getattr(self, f"{part}_y")
            if x.shape[0] != y.shape[0]:
                raise ValueError(f"{part}_x has {x.shape[0]} samples but {part}_y has "
                                 f"{y.shape[0]} labels")
            if tuple(x.shape[1:]) != self.input_shape:
                raise ValueError(f"{part}_x samples have shape {tuple(x.shape[1:])}, "
                                 f"but input_shape is {self.input_shape}")

    @property
    def train_size(self) -> int:
        return int(self.train_x.shape[0])

    def to(self, device: torch.device | str) -> DataSplits:
        """Return a copy with every tensor on ``device`` (tensors already there are shared)."""
        return dataclasses.replace(self, **{
            f.name: value.to(torch.device(device))
            for f in dataclasses.fields(self) if isinstance(value := getattr(self, f.name), Tensor)
        })  # fmt: skip
