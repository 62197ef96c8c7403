"""Deterministic stratified sampling of indices, shared by every data set."""

from __future__ import annotations

import numpy as np


def allocate(class_counts: np.ndarray, total: int, *, min_per_class: int = 0) -> np.ndarray:
    """Split ``total`` draws over classes in proportion to ``class_counts``.

    Largest-remainder rounding: each class gets the floor or ceiling of its exact share, so
    every count is within one sample of ``total * share``, and the counts sum to ``total``
    exactly. ``min_per_class`` forces tiny classes in (for subsamples that must cover every
    class) and is the only thing that can push a count further from its share. Ties are broken
    by class index, so the allocation depends on the counts alone, never on a seed.
    """
    class_counts = np.asarray(class_counts, dtype=np.int64)
    if not min_per_class * len(class_counts) <= total <= int(class_counts.sum()):
        raise ValueError(f"cannot draw {total} samples from class counts {class_counts.tolist()}")
    ideal = total * class_counts / class_counts.sum()
    take = np.clip(np.floor(ideal).astype(np.int64), min_per_class, class_counts)
    # Each pass moves one sample; at most one pass per class is needed after flooring.
    while take.sum() < total:
        gap = np.where(take < class_counts, ideal - take, -np.inf)
        take[int(np.argmax(gap))] += 1
    while take.sum() > total:
        excess = np.where(take > min_per_class, take - ideal, -np.inf)
        take[int(np.argmax(excess))] -= 1
    return take


def stratified_take(labels: np.ndarray, total: int, *, rng: np.random.Generator,
                    min_per_class: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``total`` positions of ``labels`` stratified by class; return (taken, rest).

    Both index arrays are sorted, so each part keeps the source order and two calls with
    generators in the same state return identical parts.
    """
    classes, counts = np.unique(labels, return_counts=True)
    take = allocate(counts, total, min_per_class=min_per_class)
    chosen = [rng.permutation(np.flatnonzero(labels == cls))[:k]
              for cls, k in zip(classes, take, strict=True)]
    taken = np.sort(np.concatenate(chosen))
    rest = np.setdiff1d(np.arange(len(labels)), taken, assume_unique=True)
    return taken, rest
