"""Tests for MNIST-1D: the real ``mnist1d`` generator at small sizes, its cache, and its splits.

Nothing here is mocked: every test runs the package's ``make_dataset`` (a few hundred samples
take a fraction of a second) or reads the ``.npz`` cache it wrote.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from mnist1d.data import get_dataset_args, make_dataset
from mnist1d.utils import ObjectView

from core.data import MNIST1D_DEFAULT_SAMPLES, load_dataset
from core.data._mnist1d import cache_path, generate_mnist1d, generator_args, read_mnist1d

SMALL = 200  # 20 signals per class: 160 train, 40 test


def assert_same_raw(a, b) -> None:
    for part in ("train_x", "train_y", "test_x", "test_y"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))


def test_generator_args_are_the_package_defaults_but_count_and_seed():
    defaults = get_dataset_args(as_dict=True)
    args = generator_args(num_samples=SMALL, seed=7)
    assert args.pop("num_samples") == SMALL and args.pop("seed") == 7
    assert "url" not in args
    for key, value in args.items():
        assert defaults[key] == value, key
    # The default sample count is the package's: the standard 4,000 / 1,000 split.
    assert MNIST1D_DEFAULT_SAMPLES == defaults["num_samples"] == 5000
    assert defaults["train_split"] == 0.8


def test_generated_signals_are_the_packages_own():
    raw = generate_mnist1d(num_samples=SMALL, seed=3)
    direct = make_dataset(ObjectView(generator_args(num_samples=SMALL, seed=3)))
    np.testing.assert_array_equal(raw.train_x[:, 0], direct["x"].astype(np.float32))
    np.testing.assert_array_equal(raw.test_x[:, 0], direct["x_test"].astype(np.float32))
    np.testing.assert_array_equal(raw.train_y, direct["y"])
    np.testing.assert_array_equal(raw.test_y, direct["y_test"])


def test_shapes_types_and_classes():
    raw = generate_mnist1d(num_samples=SMALL, seed=0)
    assert raw.train_x.shape == (160, 1, 40) and raw.test_x.shape == (40, 1, 40)
    assert raw.train_x.dtype == np.float32 and raw.train_y.dtype == np.int64
    labels = np.concatenate([raw.train_y, raw.test_y])
    # The generator draws num_samples / 10 signals of each class.
    assert np.bincount(labels).tolist() == [SMALL // 10] * 10
    assert raw.class_names == tuple("0123456789")
    assert np.isfinite(raw.train_x).all() and np.isfinite(raw.test_x).all()


def test_generation_is_deterministic_per_seed():
    a = generate_mnist1d(num_samples=SMALL, seed=5)
    b = generate_mnist1d(num_samples=SMALL, seed=5)
    assert_same_raw(a, b)
    other = generate_mnist1d(num_samples=SMALL, seed=6)
    assert not np.array_equal(a.train_x, other.train_x)


def test_global_rng_states_are_left_unchanged(tmp_path):
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.rand(3), random.random()
    np.random.seed(123)
    random.seed(123)
    load_dataset("mnist1d", num_samples=SMALL, data_dir=tmp_path)  # a cache miss: generates
    assert np.array_equal(np.random.rand(3), expected_np)
    assert random.random() == expected_py


def test_first_load_writes_the_cache_and_later_loads_read_it(tmp_path):
    path = cache_path(tmp_path, num_samples=SMALL, seed=42)
    assert not path.exists()
    first = read_mnist1d(tmp_path, num_samples=SMALL)
    assert path.is_file()
    again = read_mnist1d(tmp_path, num_samples=SMALL)
    assert_same_raw(first, again)
    assert_same_raw(first, generate_mnist1d(num_samples=SMALL, seed=42))
    # Proof that the file, not a fresh generation, is what a hit returns: rewrite it.
    with np.load(path) as f:
        arrays = dict(f)
    arrays["train_x"] = np.zeros_like(arrays["train_x"])
    np.savez(path, **arrays)
    assert not read_mnist1d(tmp_path, num_samples=SMALL).train_x.any()


def test_cache_is_keyed_by_count_and_seed(tmp_path):
    paths = {cache_path(tmp_path, num_samples=n, seed=s) for n in (SMALL, 300) for s in (0, 1)}
    assert len(paths) == 4
    assert all(p.parent == tmp_path / "mnist1d" for p in paths)


def test_unreadable_cache_is_regenerated(tmp_path):
    path = cache_path(tmp_path, num_samples=SMALL, seed=42)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz file")
    raw = read_mnist1d(tmp_path, num_samples=SMALL)
    assert_same_raw(raw, generate_mnist1d(num_samples=SMALL, seed=42))
    with np.load(path) as f:  # and replaced by a good one
        np.testing.assert_array_equal(f["train_x"], raw.train_x)


def test_load_dataset_split_sizes_and_shapes(tmp_path):
    d = load_dataset("mnist1d", num_samples=SMALL, val_fraction=0.25, data_dir=tmp_path)
    assert (d.train_size, len(d.val_y), len(d.test_y)) == (120, 40, 40)
    assert d.input_shape == (1, 40) and d.num_classes == 10 and d.augment is None
    assert d.name == "mnist1d"
    small = load_dataset("mnist1d", num_samples=SMALL, train_size=50, data_dir=tmp_path)
    assert small.train_size == 50 and set(small.train_y.tolist()) == set(range(10))


def test_validation_is_a_stratified_part_of_train_and_test_is_the_generators(tmp_path):
    raw = generate_mnist1d(num_samples=SMALL, seed=42)
    d = load_dataset("mnist1d", num_samples=SMALL, val_fraction=0.25, data_dir=tmp_path)

    def unstandardize(x: torch.Tensor) -> np.ndarray:
        return (x * d.std + d.mean).numpy()

    # Test: the generator's test part, in order.
    np.testing.assert_allclose(unstandardize(d.test_x), raw.test_x, atol=1e-5)
    assert d.test_y.tolist() == raw.test_y.tolist()
    # Train + validation: exactly the generator's train part, split stratified by class.
    pool = np.concatenate([unstandardize(d.train_x), unstandardize(d.val_x)])
    pool_y = np.concatenate([d.train_y.numpy(), d.val_y.numpy()])
    order = np.lexsort(pool.reshape(len(pool), -1).T)
    expected = np.lexsort(raw.train_x.reshape(len(raw.train_x), -1).T)
    np.testing.assert_allclose(pool[order], raw.train_x[expected], atol=1e-5)
    assert pool_y[order].tolist() == raw.train_y[expected].tolist()
    counts = np.bincount(raw.train_y, minlength=10)
    val_counts = np.bincount(d.val_y.numpy(), minlength=10)
    assert np.all(np.abs(val_counts - 0.25 * counts) <= 1.0)


def test_standardized_per_channel_with_training_statistics_only(tmp_path):
    d = load_dataset("mnist1d", num_samples=SMALL, split_seed=1, data_dir=tmp_path)
    # One offset and one scale for the whole signal (its only channel), from train alone.
    assert d.mean.shape == (1, 1) and d.std.shape == (1, 1)
    # Undone, the training part is the generator's signals (checked row by row above); their
    # statistics are the stored ones, and the standardized part has mean 0 and std 1.
    std, mean = torch.std_mean(d.train_x * d.std + d.mean, correction=0)
    assert torch.allclose(mean, d.mean.squeeze(), atol=1e-5)
    assert torch.allclose(std, d.std.squeeze(), atol=1e-5)
    assert abs(float(d.train_x.mean())) < 1e-5
    assert abs(float(d.train_x.std(correction=0)) - 1) < 1e-4
    # Statistics over everything generated (validation and test included) would differ.
    raw = generate_mnist1d(num_samples=SMALL, seed=42)
    everything = torch.from_numpy(np.concatenate([raw.train_x, raw.test_x]))
    all_std, all_mean = torch.std_mean(everything, correction=0)
    assert not torch.allclose(all_mean, d.mean.squeeze(), atol=1e-4)
    assert not torch.allclose(all_std, d.std.squeeze(), atol=1e-4)
    # Validation and test are scaled by the same numbers, so they are not exactly centred.
    assert abs(float(d.test_x.mean())) > 1e-4


def test_split_seed_changes_validation_not_test(tmp_path):
    a = load_dataset("mnist1d", num_samples=SMALL, split_seed=0, data_dir=tmp_path)
    b = load_dataset("mnist1d", num_samples=SMALL, split_seed=1, data_dir=tmp_path)
    assert a.test_y.tolist() == b.test_y.tolist()
    assert not torch.equal(a.val_y, b.val_y) or not torch.allclose(
        a.val_x * a.std + a.mean, b.val_x * b.std + b.mean
    )


@pytest.mark.parametrize("num_samples", [0, 40, 205, 200.0, True, "200"])
def test_num_samples_is_validated(num_samples, tmp_path):
    with pytest.raises(ValueError, match="num_samples"):
        load_dataset("mnist1d", num_samples=num_samples, data_dir=tmp_path)


def test_num_samples_only_applies_to_mnist1d():
    with pytest.raises(ValueError, match="num_samples applies only to .*mnist1d"):
        load_dataset("digits", num_samples=SMALL)
