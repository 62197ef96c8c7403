"""scikit-learn's bundled handwritten digits: 1,797 8x8 images, no download, instant to train on.

This is the default data set: a full learning-rate x weight-decay landscape on it takes
minutes on a laptop CPU, so the dashboard shows the paper's effect without a GPU or network.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from core.data._raw import RawImages


def read_digits() -> RawImages:
    """All 1,797 digits as (N, 1, 8, 8) gray levels 0..16; there is no official test split."""
    bunch = load_digits()
    return RawImages(np.asarray(bunch.images, dtype=np.float32)[:, None],
                     np.asarray(bunch.target, dtype=np.int64), test_x=None, test_y=None,
                     max_value=16.0, class_names=tuple(str(d) for d in range(10)))
