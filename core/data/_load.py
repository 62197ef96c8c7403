"""``load_dataset``: read a data set, split it three ways, standardize it, put it on a device."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from core.catalog import DATASETS
from core.data._cifar import read_cifar10
from core.data._digits import read_digits
from core.data._fashion_mnist import read_fashion_mnist
from core.data._files import default_data_dir
from core.data._mnist1d import DEFAULT_SAMPLES, check_num_samples, read_mnist1d
from core.data._raw import RawImages
from core.data._splits import DataSplits
from core.data._stratify import stratified_take

# Digits has no official test split; this fixed share of it is held out as test, so the test
# set depends on split_seed but never on val_fraction or train_size.
DIGITS_TEST_FRACTION = 0.2
# Independent random streams per drawing step, so changing val_fraction does not reshuffle the
# test set and changing train_size does not reshuffle validation.
_STREAM_TEST, _STREAM_VAL, _STREAM_SUBSAMPLE = 0, 1, 2
# Below this a pixel is constant on the training part (digits' corners are always blank);
# dividing by its std would blow up whatever the test part has there.
_MIN_STD = 1e-6


def _rng(split_seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([split_seed, stream])


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def _check_arguments(name: str, split_seed: int, val_fraction: float, train_size: int | None,
                     num_samples: int | None) -> None:
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")
    if num_samples is not None:
        if name != "mnist1d":
            raise ValueError(f"num_samples applies only to the generated data set 'mnist1d', "
                             f"not {name!r}")
        check_num_samples(num_samples)
    if isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0:
        raise ValueError(f"split_seed must be a non-negative integer, got {split_seed!r}")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, int | float):
        raise ValueError(f"val_fraction must be a number in (0, 0.5], got {val_fraction!r}")
    if not 0.0 < val_fraction <= 0.5:
        raise ValueError(f"val_fraction must be in (0, 0.5], got {val_fraction!r}")
    if train_size is not None and (isinstance(train_size, bool)
                                   or not isinstance(train_size, int) or train_size <= 0):
        raise ValueError(f"train_size must be a positive integer or None, got {train_size!r}")


def _read(name: str, root: Path, download: bool, num_samples: int | None) -> RawImages:
    if name == "digits":
        return read_digits()
    if name == "mnist1d":
        return read_mnist1d(root, num_samples=num_samples or DEFAULT_SAMPLES)
    if name == "cifar10":
        return read_cifar10(root, download=download)
    return read_fashion_mnist(root, download=download)


def _standardize(parts: dict[str, np.ndarray], max_value: float, per_pixel: bool
                 ) -> tuple[dict[str, Tensor], Tensor, Tensor]:
    """Scale pixels to [0, 1], then subtract/divide by statistics of ``parts["train"]`` only:
    one mean and std per input position (``per_pixel``) or per channel (axis 1), pooled over
    the batch and every spatial axis, for images (N, C, H, W) and signals (N, C, L) alike."""
    # In place after the one float conversion: CIFAR-10's training part is 600 MB as float32,
    # and every extra temporary of that size counts on a laptop.
    out = {k: torch.from_numpy(np.ascontiguousarray(v)).float().div_(max_value)
           for k, v in parts.items()}  # fmt: skip
    # Per pixel for digits (a pixel position is a feature there, as in the usual sklearn
    # recipe); per channel for natural images, as in the paper's CIFAR-10 pipeline, and for
    # MNIST-1D's signals: a digit's template lands at a random offset, so every position sees
    # the same kind of values, and one scale for the whole signal keeps its shape (per-position
    # statistics would stretch the rarely-reached ends and distort what a convolution slides
    # over).
    dims = (0,) if per_pixel else (0, *range(2, out["train"].dim()))
    std, mean = torch.std_mean(out["train"], dim=dims, keepdim=True, correction=0)
    std = torch.where(std < _MIN_STD, torch.ones_like(std), std)
    for v in out.values():
        v.sub_(mean).div_(std)
    return out, mean[0], std[0]


def load_dataset(name: str, *, split_seed: int = 0, val_fraction: float = 0.1,
                 train_size: int | None = None, data_dir: str | Path | None = None,
                 download: bool = True, device: str | torch.device = "cpu",
                 num_samples: int | None = None) -> DataSplits:
    """Load ``name`` split into train / validation / test, standardized, on ``device``.

    - ``digits`` (scikit-learn, bundled): a stratified 20 % is held out as test.
      ``fashion_mnist`` and ``cifar10``: the official test set is the test set.
    - ``mnist1d`` (generated by the ``mnist1d`` package, see :mod:`core.data._mnist1d`):
      ``num_samples`` signals of shape (1, 40) (default 5,000), the generator's first 80 % as
      train and the rest as test; generated once and cached under ``data_dir``. Its samples
      are fixed (the package's seed 42); ``split_seed`` draws validation from them as for the
      other sets.
    - Validation is a stratified ``val_fraction`` of what remains, so hyperparameters can be
      chosen without looking at test error.
    - ``train_size`` optionally keeps a stratified subsample of the training part (at least one
      sample per class) for small-data experiments; validation and test are unchanged.
    - Every draw is a deterministic function of ``split_seed``; every part keeps file order.
    - Inputs are standardized with statistics of the final training part only (per pixel for
      digits, per channel for images and signals), so nothing about validation or test leaks
      into training.

    Files are read from ``data_dir`` (default :func:`default_data_dir`), downloaded there first
    through torchvision when missing and ``download`` is true. Raises
    :class:`DatasetUnavailableError` when they are missing and cannot be fetched, ``ValueError``
    for invalid arguments.
    """
    _check_arguments(name, split_seed, val_fraction, train_size, num_samples)
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    raw = _read(name, root, download, num_samples)

    if raw.test_x is None or raw.test_y is None:
        n_test = _round_half_up(DIGITS_TEST_FRACTION * len(raw.train_y))
        rng = _rng(split_seed, _STREAM_TEST)
        test_idx, pool_idx = stratified_take(raw.train_y, n_test, rng=rng)
        test_x, test_y = raw.train_x[test_idx], raw.train_y[test_idx]
        pool_x, pool_y = raw.train_x[pool_idx], raw.train_y[pool_idx]
    else:
        test_x, test_y = raw.test_x, raw.test_y
        pool_x, pool_y = raw.train_x, raw.train_y

    n_val = max(1, _round_half_up(val_fraction * len(pool_y)))
    val_idx, train_idx = stratified_take(pool_y, n_val, rng=_rng(split_seed, _STREAM_VAL))

    if train_size is not None:
        n_classes = len(np.unique(pool_y[train_idx]))
        if not n_classes <= train_size <= len(train_idx):
            raise ValueError(f"train_size must be between {n_classes} (one sample per class) "
                             f"and {len(train_idx)} (the training part of {name!r} with "
                             f"val_fraction={val_fraction}), got {train_size}")
        if train_size < len(train_idx):
            keep, _ = stratified_take(pool_y[train_idx], train_size, min_per_class=1,
                                      rng=_rng(split_seed, _STREAM_SUBSAMPLE))
            train_idx = train_idx[keep]

    x, mean, std = _standardize({"train": pool_x[train_idx], "val": pool_x[val_idx],
                                 "test": test_x}, raw.max_value, per_pixel=name == "digits")
    y = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.int64))
         for k, v in (("train", pool_y[train_idx]), ("val", pool_y[val_idx]), ("test", test_y))}
    return DataSplits(
        name=name, train_x=x["train"], train_y=y["train"], val_x=x["val"], val_y=y["val"],
        test_x=x["test"], test_y=y["test"], num_classes=len(raw.class_names),
        input_shape=tuple(x["train"].shape[1:]), augment="cifar" if name == "cifar10" else None,
        class_names=raw.class_names, mean=mean, std=std,
    ).to(device)
