"""Loading a study's data set once per process, with spec-style errors."""

from __future__ import annotations

import threading
from pathlib import Path

from core.data import DataSplits, load_dataset
from studies.spec import SpecError, StudySpec

_cache: dict[tuple[object, ...], DataSplits] = {}
_lock = threading.Lock()


def load_data(spec: StudySpec, *, data_dir: str | Path | None = None) -> DataSplits:
    """The spec's splits on the CPU, cached per process (``create_study`` and the worker of
    one ``run`` load it once).

    Raises :class:`SpecError` for a ``data.train_size`` the data set cannot provide and lets
    :class:`core.data.DatasetUnavailableError` through (files missing, no download possible).
    """
    d = spec.data
    key = (d.dataset, d.split_seed, d.val_fraction, d.train_size, d.num_samples, str(data_dir))
    with _lock:
        if key not in _cache:
            try:
                _cache[key] = load_dataset(  # num_samples: None unless the data set is generated
                    d.dataset, split_seed=d.split_seed, val_fraction=d.val_fraction,
                    train_size=d.train_size, num_samples=d.num_samples, data_dir=data_dir,
                    device="cpu")
            except ValueError as error:  # DatasetUnavailableError is no ValueError: it goes on
                raise SpecError("data", str(error)) from None
        return _cache[key]
