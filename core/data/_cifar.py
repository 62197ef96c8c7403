"""CIFAR-10 from the official python pickles (``cifar-10-batches-py``).

The files are parsed here rather than through ``torchvision.datasets.CIFAR10`` because the
latter insists on the official md5 sums: a tiny genuine-format fixture in a test could never
pass, and the read path the tests exercise would not be the one users run. torchvision is used
only to download.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from core.data._files import ensure_files, unavailable
from core.data._raw import RawImages

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
EXPECTED = tuple(f"{FOLDER}/{name}" for name in (*TRAIN_FILES, TEST_FILE))
CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


def _read_batch(path: Path, root: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch: a dict of b"data", uint8 rows (N, 3072) of R, G, B planes, and
    b"labels", a list of N ints."""
    try:
        with path.open("rb") as f:
            # The official files are Python 2 pickles of byte-string keys.
            entry = pickle.load(f, encoding="bytes")
        data = np.asarray(entry[b"data"], dtype=np.uint8)
        labels = np.asarray(entry[b"labels"], dtype=np.int64)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
            raise ValueError(f"data of shape {data.shape} with {len(labels)} labels")
    except Exception as exc:
        reason = f"{path.name} is not a readable CIFAR-10 batch ({type(exc).__name__}: {exc})"
        raise unavailable("cifar10", root, EXPECTED, reason) from exc
    return data.reshape(-1, 3, 32, 32), labels


def read_cifar10(root: Path, *, download: bool) -> RawImages:
    """Read (downloading first if allowed and needed) the 50,000 + 10,000 CIFAR-10 images."""
    ensure_files("cifar10", root, expected=EXPECTED, download=download, torchvision_name="CIFAR10",
                 find_missing=lambda: [e for e in EXPECTED if not (root / e).is_file()])
    parts = [_read_batch(root / FOLDER / name, root) for name in (*TRAIN_FILES, TEST_FILE)]
    train_x, train_y = (np.concatenate(arrays) for arrays in zip(*parts[:-1], strict=True))
    return RawImages(train_x, train_y, *parts[-1], max_value=255.0, class_names=CLASS_NAMES)
