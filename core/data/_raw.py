"""Raw pixels as read from disk, before splitting and standardization."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RawImages:
    """Images of one data set in their file encoding, plus what is needed to scale them."""

    train_x: np.ndarray  # pixels (N, C, H, W) as stored: uint8 for image files
    train_y: np.ndarray  # int64 labels (N,)
    test_x: np.ndarray | None  # official test images, or None when the set has no test split
    test_y: np.ndarray | None  # official test labels
    max_value: float  # value of a white pixel in the file encoding (255, or 16 for digits)
    class_names: tuple[str, ...]  # label names, index = label
