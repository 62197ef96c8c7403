"""Data sets as standardized, device-resident tensor splits, and batch augmentation.

``load_dataset`` returns a :class:`DataSplits`: train / validation / test tensors, already
standardized with training statistics and placed on a device, because the small models here
train fastest when a batch is just ``train_x[idx]``. Batching by index is the trainer's job.

Data sets (``DATASETS``): scikit-learn's digits (bundled), MNIST-1D (generated offline by the
``mnist1d`` package, ``MNIST1D_DEFAULT_SAMPLES`` samples unless ``num_samples`` says otherwise),
Fashion-MNIST and CIFAR-10 (files, downloaded through torchvision when allowed).
"""

from __future__ import annotations

from core.data._augment import augment_cifar_batch
from core.data._files import DatasetUnavailableError, default_data_dir
from core.data._load import DATASETS, load_dataset
from core.data._mnist1d import DEFAULT_SAMPLES as MNIST1D_DEFAULT_SAMPLES
from core.data._splits import DataSplits

__all__ = ["DATASETS", "MNIST1D_DEFAULT_SAMPLES", "DataSplits", "DatasetUnavailableError",
           "augment_cifar_batch", "default_data_dir", "load_dataset"]
