"""Data sets as standardized, device-resident tensor splits, and batch augmentation.

``load_dataset`` returns a :class:`DataSplits`: train / validation / test tensors, already
standardized with training statistics and placed on a device, because the small models here
train fastest when a batch is just ``train_x[idx]``. Batching by index is the trainer's job.
"""

from __future__ import annotations

from core.data._augment import augment_cifar_batch
from core.data._files import DatasetUnavailableError, default_data_dir
from core.data._load import DATASETS, load_dataset
from core.data._splits import DataSplits

__all__ = [
    "DATASETS",
    "DataSplits",
    "DatasetUnavailableError",
    "augment_cifar_batch",
    "default_data_dir",
    "load_dataset",
]
