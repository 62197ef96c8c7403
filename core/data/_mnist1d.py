"""MNIST-1D (Greydanus 2020, "Scaling down deep learning"): ten classes of length-40 signals.

Each sample is one of ten hand-drawn 1-D templates ("digits"), padded, stretched, scaled,
translated, sheared, and overlaid with correlated and i.i.d. noise, then resampled to 40
points. Greydanus (2020) built it to be far harder than MNIST for small networks while
training in seconds on a CPU: what a weight-decay landscape needs, since a data set a small
model solves almost perfectly leaves the landscape flat.

The samples come from the generator of the PyPI package ``mnist1d`` (``make_dataset``), never
from its downloader: nothing is fetched, and the data are a pure function of the generator
arguments (sample count, seed, the package's defaults for everything else) and the package
version. The first call writes them to an ``.npz`` under the data directory, keyed by those
arguments, so later calls (and every worker of a study) read the file instead of generating
again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import tempfile
import threading
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from core.data._raw import RawImages

FOLDER = "mnist1d"
DEFAULT_SAMPLES = 5000  # the package's default: 4,000 train + 1,000 test (train_split 0.8)
DEFAULT_SEED = 42  # the package's default seed: the standard MNIST-1D samples
NUM_CLASSES = 10
CLASS_NAMES = tuple(str(d) for d in range(NUM_CLASSES))
MIN_SAMPLES = 50  # 5 per class: enough for every class to reach train and test in practice

# The generator seeds and draws from the process-global ``random`` and ``np.random`` states;
# one generation at a time, so two threads cannot interleave their draws.
_generate_lock = threading.Lock()


def check_num_samples(num_samples: object) -> int:
    """``num_samples`` as an int, or a ValueError saying what is allowed.

    The generator draws ``num_samples // 10`` signals per class, so only multiples of ten give
    the count asked for; anything else is refused rather than silently rounded down.
    """
    if (isinstance(num_samples, bool) or not isinstance(num_samples, int)
            or num_samples < MIN_SAMPLES or num_samples % NUM_CLASSES):
        raise ValueError(f"num_samples (MNIST-1D samples generated, train + test) must be a "
                         f"multiple of {NUM_CLASSES} and at least {MIN_SAMPLES}, "
                         f"got {num_samples!r}")
    return num_samples


def generator_args(*, num_samples: int, seed: int) -> dict[str, Any]:
    """The arguments ``make_dataset`` is called with: the package's defaults, except the
    sample count and the seed. The download URL is dropped: it plays no part in generation."""
    from mnist1d.data import get_dataset_args  # lazily: the package imports matplotlib

    args = get_dataset_args(as_dict=True)
    args.pop("url", None)
    args.update(num_samples=num_samples, seed=seed)
    return args


def generate_mnist1d(*, num_samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED) -> RawImages:
    """Run the package's generator: ``0.8 · num_samples`` train and the rest test signals.

    Signals come back as (N, 1, 40) float32 (one channel, 40 positions), labels int64. The
    generator reseeds and draws from the global ``random`` and ``np.random`` states; both are
    restored afterwards, so generating never changes what the caller's global RNG draws next.
    """
    num_samples = check_num_samples(num_samples)
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    args = generator_args(num_samples=num_samples, seed=seed)
    with _generate_lock:
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            data = make_dataset(ObjectView(dict(args)))
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
    x, x_test = (np.ascontiguousarray(data[k], dtype=np.float32)[:, None] for k in ("x", "x_test"))
    y, y_test = (np.asarray(data[k], dtype=np.int64) for k in ("y", "y_test"))
    # The generator already centres and scales the whole set; nothing to divide by here.
    return RawImages(x, y, x_test, y_test, max_value=1.0, class_names=CLASS_NAMES)


def cache_path(root: Path, *, num_samples: int, seed: int) -> Path:
    """Where the samples of these arguments are cached: the name shows the sample count and
    seed and carries a digest of them and the package version (which fixes every other
    generator argument), so a different generator never reads another's file."""
    key = {"num_samples": num_samples, "seed": seed, "mnist1d": version("mnist1d")}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return root / FOLDER / f"mnist1d-n{num_samples}-seed{seed}-{digest}.npz"


def _write_atomically(path: Path, raw: RawImages) -> None:
    """Write the arrays to a temporary file beside ``path``, then rename it into place, so a
    worker reading the cache while another writes it sees the whole file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, train_x=raw.train_x, train_y=raw.train_y,
                     test_x=raw.test_x, test_y=raw.test_y)  # fmt: skip
        # mkstemp makes the file private (0600); a cache is meant to be shared like the data.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_mnist1d(root: Path, *, num_samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED
                 ) -> RawImages:
    """MNIST-1D from the cache under ``root``, generated (and cached) first when missing.

    A cache file that cannot be read is regenerated; a data directory that cannot be written
    only costs the caching (generation takes about a second), never the data.
    """
    num_samples = check_num_samples(num_samples)
    path = cache_path(root, num_samples=num_samples, seed=seed)
    # A missing, truncated or foreign file is generated again and replaced.
    with contextlib.suppress(OSError, ValueError, KeyError), np.load(path) as f:
        return RawImages(**{k: f[k] for k in ("train_x", "train_y", "test_x", "test_y")},
                         max_value=1.0, class_names=CLASS_NAMES)
    raw = generate_mnist1d(num_samples=num_samples, seed=seed)
    with contextlib.suppress(OSError):
        _write_atomically(path, raw)
    return raw
