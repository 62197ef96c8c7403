"""Tests for core.data: splits, standardization, the real file parsers, augmentation.

CIFAR-10 and Fashion-MNIST are exercised through tiny fixtures written in the genuine file
formats, so the read path under test is the one users run. Nothing here downloads.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from collections import Counter
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from core.data import (
    DATASETS,
    DatasetUnavailableError,
    DataSplits,
    augment_cifar_batch,
    default_data_dir,
    load_dataset,
)

PARTS = ("train", "val", "test")


def raw_pixels(splits: DataSplits, part: str, max_value: float) -> np.ndarray:
    """Undo the standardization of one part, back to the file's integer pixel values."""
    x = getattr(splits, f"{part}_x")
    raw = (x * splits.std + splits.mean) * max_value
    rounded = raw.round()
    # The inverse must land on integers: a wrong mean or std would not.
    assert torch.allclose(raw, rounded, atol=1e-3)
    return rounded.to(torch.int64).numpy()


def rows_with_labels(x: np.ndarray, y: np.ndarray) -> Counter:
    return Counter(
        (tuple(row.ravel().tolist()), int(label)) for row, label in zip(x, y, strict=True)
    )


def assert_within_one_per_class(part_y: torch.Tensor, source_y: np.ndarray) -> None:
    """Every class count of a part is within one sample of its share of the source."""
    classes, source_counts = np.unique(source_y, return_counts=True)
    counts = np.bincount(part_y.numpy(), minlength=classes.max() + 1)[classes]
    expected = len(part_y) * source_counts / source_counts.sum()
    assert np.all(np.abs(counts - expected) <= 1.0), (counts, expected)


# --------------------------------------------------------------------------- digits


def test_datasets_constant_lists_the_four_sets():
    assert DATASETS == ("digits", "mnist1d", "fashion_mnist", "cifar10")


def test_digits_shapes_and_types():
    d = load_dataset("digits")
    assert d.name == "digits"
    assert d.input_shape == (1, 8, 8)
    assert d.num_classes == 10
    assert d.augment is None
    assert d.train_size + len(d.val_y) + len(d.test_y) == 1797
    assert len(d.test_y) == 359  # 20 % of 1797
    assert len(d.val_y) == 144  # 10 % of the remaining 1438
    for part in PARTS:
        assert getattr(d, f"{part}_x").dtype == torch.float32
        assert getattr(d, f"{part}_y").dtype == torch.int64
        assert getattr(d, f"{part}_x").shape[1:] == (1, 8, 8)


def test_digits_split_is_deterministic_per_seed():
    a, b = load_dataset("digits", split_seed=3), load_dataset("digits", split_seed=3)
    other = load_dataset("digits", split_seed=4)
    for part in PARTS:
        assert torch.equal(getattr(a, f"{part}_x"), getattr(b, f"{part}_x"))
        assert torch.equal(getattr(a, f"{part}_y"), getattr(b, f"{part}_y"))
    # Different images, not just different standardization (compare raw pixels).
    for part in ("test", "val"):
        assert not np.array_equal(raw_pixels(a, part, 16.0), raw_pixels(other, part, 16.0))


def test_digits_split_is_a_partition_of_the_data():
    """Every image of the data set lands in exactly one part (so no part overlaps another)."""
    bunch = load_digits()
    d = load_dataset("digits", split_seed=1)
    whole = rows_with_labels(bunch.images.astype(np.int64), bunch.target)
    parts = Counter()
    for part in PARTS:
        parts += rows_with_labels(raw_pixels(d, part, 16.0), getattr(d, f"{part}_y").numpy())
    assert parts == whole


def test_digits_split_is_stratified():
    labels = load_digits().target
    for seed in (0, 1):
        d = load_dataset("digits", split_seed=seed, val_fraction=0.25)
        # Test is drawn from the whole; validation from what is left (train + validation).
        assert_within_one_per_class(d.test_y, labels)
        pool = torch.cat([d.train_y, d.val_y]).numpy()
        assert_within_one_per_class(d.val_y, pool)
        assert_within_one_per_class(d.train_y, pool)


def test_digits_standardized_with_training_statistics_only():
    d = load_dataset("digits")
    mean, std = d.train_x.mean(dim=0), d.train_x.std(dim=0, correction=0)
    assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-5)
    # Pixels constant on the training part (blank corners) stay finite and at zero.
    constant = d.std == 1.0
    assert constant.any()
    assert torch.allclose(std[~constant], torch.ones_like(std[~constant]), atol=1e-4)
    assert torch.isfinite(torch.cat([d.train_x, d.val_x, d.test_x])).all()
    # Had validation or test entered the statistics, the training mean would not be zero while
    # the held-out parts' would be pulled towards it; their mean is visibly non-zero.
    held_out = torch.cat([d.val_x, d.test_x]).mean(dim=0)
    assert held_out.abs().max() > 1e-3


def test_digits_train_size_subsample_is_stratified_and_deterministic():
    full = load_dataset("digits", split_seed=2)
    a = load_dataset("digits", split_seed=2, train_size=200)
    b = load_dataset("digits", split_seed=2, train_size=200)
    assert a.train_size == 200
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.train_y, b.train_y)
    assert_within_one_per_class(a.train_y, full.train_y.numpy())
    # Drawn from the training part, and validation / test untouched.
    full_train = rows_with_labels(raw_pixels(full, "train", 16.0), full.train_y.numpy())
    sub_train = rows_with_labels(raw_pixels(a, "train", 16.0), a.train_y.numpy())
    assert not sub_train - full_train
    for part in ("val", "test"):
        assert torch.equal(getattr(a, f"{part}_y"), getattr(full, f"{part}_y"))
        assert np.array_equal(raw_pixels(a, part, 16.0), raw_pixels(full, part, 16.0))
    # Standardized with the subsample's own statistics, the data the model actually sees.
    assert torch.allclose(a.train_x.mean(dim=0), torch.zeros(1, 8, 8), atol=1e-5)
    other_seed = load_dataset("digits", split_seed=5, train_size=200)
    assert not torch.equal(other_seed.train_x, a.train_x)


def test_train_size_of_one_per_class():
    d = load_dataset("digits", train_size=10)
    assert sorted(d.train_y.tolist()) == list(range(10))


@pytest.mark.parametrize("train_size", [0, -3, 9, 100_000, 2.5, True])
def test_train_size_is_validated(train_size):
    with pytest.raises(ValueError, match="train_size"):
        load_dataset("digits", train_size=train_size)


@pytest.mark.parametrize("val_fraction", [0.0, -0.1, 0.51, 1.0])
def test_val_fraction_is_validated(val_fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        load_dataset("digits", val_fraction=val_fraction)


def test_val_fraction_half_is_allowed():
    d = load_dataset("digits", val_fraction=0.5)
    assert len(d.val_y) == 719  # half of 1438, rounded half up


def test_unknown_dataset_names_the_allowed_values():
    with pytest.raises(ValueError, match="dataset") as info:
        load_dataset("mnist")
    for name in DATASETS:
        assert name in str(info.value)


def test_split_seed_is_validated():
    with pytest.raises(ValueError, match="split_seed"):
        load_dataset("digits", split_seed=-1)


def test_to_moves_every_tensor():
    d = load_dataset("digits", device="meta")
    for value in (d.train_x, d.train_y, d.val_x, d.val_y, d.test_x, d.test_y, d.mean, d.std):
        assert value.device.type == "meta"
    back = load_dataset("digits").to("cpu")
    assert back.train_x.device == torch.device("cpu")


def test_data_splits_rejects_inconsistent_tensors():
    x, y = torch.zeros(4, 1, 2, 2), torch.zeros(4, dtype=torch.int64)
    common = dict(name="toy", num_classes=2, augment=None, val_x=x, val_y=y, test_x=x, test_y=y)
    with pytest.raises(ValueError, match="train_y"):
        DataSplits(train_x=x, train_y=y[:3], input_shape=(1, 2, 2), **common)
    with pytest.raises(ValueError, match="input_shape"):
        DataSplits(train_x=x, train_y=y, input_shape=(1, 4), **common)
    ok = DataSplits(train_x=x, train_y=y, input_shape=[1, 2, 2], **common)
    assert ok.input_shape == (1, 2, 2) and ok.train_size == 4


def test_default_data_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WDLAB_DATA_DIR", str(tmp_path / "shared"))
    assert default_data_dir() == tmp_path / "shared"
    monkeypatch.delenv("WDLAB_DATA_DIR")
    assert default_data_dir() == Path.home() / ".cache" / "wdlab" / "data"


# --------------------------------------------------------------------------- CIFAR-10

CIFAR_PER_CLASS = 2  # images of each class in each of the six fixture batch files


def write_cifar10(root: Path) -> dict[str, dict]:
    """A miniature cifar-10-batches-py, byte-compatible with the official pickles."""
    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = rng.permutation(np.repeat(np.arange(10), CIFAR_PER_CLASS))
        entry = {
            b"batch_label": name.encode(),
            b"labels": labels.tolist(),
            b"data": rng.integers(0, 256, size=(len(labels), 3072), dtype=np.uint8),
            b"filenames": [f"img_{name}_{i}.png".encode() for i in range(len(labels))],
        }
        with (folder / name).open("wb") as f:
            pickle.dump(entry, f, protocol=2)
        batches[name] = entry
    meta = {
        b"label_names": [n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer",
                                              "dog", "frog", "horse", "ship", "truck")],
        b"num_cases_per_batch": 10 * CIFAR_PER_CLASS,
        b"num_vis": 3072,
    }  # fmt: skip
    with (folder / "batches.meta").open("wb") as f:
        pickle.dump(meta, f, protocol=2)
    return batches


def test_cifar10_reads_the_genuine_format(tmp_path):
    batches = write_cifar10(tmp_path)
    d = load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert d.augment == "cifar"
    assert d.input_shape == (3, 32, 32) and d.num_classes == 10
    assert d.class_names[0] == "airplane"
    assert (d.train_size, len(d.val_y), len(d.test_y)) == (90, 10, 20)
    assert d.train_x.dtype == torch.float32 and d.train_y.dtype == torch.int64

    # The official test batch is the test set, in file order, pixel for pixel.
    test = batches["test_batch"]
    assert d.test_y.tolist() == test[b"labels"]
    assert np.array_equal(raw_pixels(d, "test", 255.0).reshape(-1, 3072), test[b"data"])

    # Training batches are split between train and validation, every image exactly once.
    files = [batches[f"data_batch_{i}"] for i in range(1, 6)]
    whole = rows_with_labels(
        np.concatenate([b[b"data"] for b in files]).astype(np.int64),
        np.concatenate([b[b"labels"] for b in files]),
    )
    loaded = Counter()
    for part in ("train", "val"):
        loaded += rows_with_labels(raw_pixels(d, part, 255.0), getattr(d, f"{part}_y").numpy())
    assert loaded == whole
    assert sorted(d.val_y.tolist()) == list(range(10))  # stratified: one per class

    # A known pixel: channel planes are R, G, B of 32x32 rows, as in the official layout.
    image = files[2][b"data"][7]
    target = torch.from_numpy(image.reshape(3, 32, 32).astype(np.float32) / 255.0)
    standardized = (target - d.mean) / d.std
    pool = torch.cat([d.train_x, d.val_x])
    assert (pool - standardized).flatten(1).abs().amax(dim=1).min() < 1e-5

    # Per-channel standardization with training statistics.
    assert d.mean.shape == (3, 1, 1)
    train_mean = d.train_x.mean(dim=(0, 2, 3))
    train_std = d.train_x.std(dim=(0, 2, 3), correction=0)
    assert torch.allclose(train_mean, torch.zeros(3), atol=1e-5)
    assert torch.allclose(train_std, torch.ones(3), atol=1e-5)


def test_cifar10_with_files_present_does_not_download(tmp_path, monkeypatch):
    import torchvision.datasets

    def refuse(*args, **kwargs):
        raise AssertionError("must not download when the files are present")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", refuse)
    write_cifar10(tmp_path)
    d = load_dataset("cifar10", data_dir=tmp_path, download=True)
    assert len(d.test_y) == 20


def test_missing_cifar10_without_download_explains_where_and_how(tmp_path):
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path) in message
    assert "cifar-10-batches-py/data_batch_1" in message
    assert "download=True" in message
    assert "WDLAB_DATA_DIR" in message


def test_partially_missing_cifar10_names_the_missing_file(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DatasetUnavailableError, match="data_batch_4 is missing"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def test_failed_download_becomes_dataset_unavailable(tmp_path, monkeypatch):
    """The network is replaced by one that is down, as on an offline machine."""
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise URLError("no route to host")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(DatasetUnavailableError, match="download failed") as info:
        load_dataset("cifar10", data_dir=tmp_path / "cache", download=True)
    assert str(tmp_path / "cache") in str(info.value)
    assert isinstance(info.value.__cause__, URLError)


def test_corrupt_cifar10_batch_is_reported(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DatasetUnavailableError, match="test_batch"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


# --------------------------------------------------------------------------- Fashion-MNIST

FASHION_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")  # fmt: skip


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding: magic 0x0000 08 ndim (2051 images, 2049 labels), big-endian dims, data."""
    magic = 0x0800 | array.ndim
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_fashion_mnist(root: Path, *, gz: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    folder = root / "FashionMNIST" / "raw"
    folder.mkdir(parents=True)
    arrays = {}
    for prefix, per_class in (("train", 4), ("t10k", 2)):
        labels = rng.permutation(np.repeat(np.arange(10), per_class)).astype(np.uint8)
        images = rng.integers(0, 256, size=(len(labels), 28, 28), dtype=np.uint8)
        arrays[f"{prefix}-images-idx3-ubyte"] = images
        arrays[f"{prefix}-labels-idx1-ubyte"] = labels
    for name, array in arrays.items():
        blob = idx_bytes(array)
        if gz:
            with gzip.open(folder / f"{name}.gz", "wb") as f:
                f.write(blob)
        else:
            (folder / name).write_bytes(blob)
    return arrays


def test_idx_fixture_uses_the_official_magic_numbers():
    assert idx_bytes(np.zeros((1, 28, 28)))[:4] == (2051).to_bytes(4, "big")
    assert idx_bytes(np.zeros(1))[:4] == (2049).to_bytes(4, "big")


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_fashion_mnist_reads_idx_files(tmp_path, gz):
    arrays = write_fashion_mnist(tmp_path, gz=gz)
    d = load_dataset("fashion_mnist", data_dir=tmp_path, download=False, val_fraction=0.25)
    assert d.augment is None
    assert d.input_shape == (1, 28, 28) and d.num_classes == 10
    assert (d.train_size, len(d.val_y), len(d.test_y)) == (30, 10, 20)
    assert d.test_y.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert np.array_equal(raw_pixels(d, "test", 255.0)[:, 0], arrays["t10k-images-idx3-ubyte"])
    whole = rows_with_labels(
        arrays["train-images-idx3-ubyte"].astype(np.int64), arrays["train-labels-idx1-ubyte"]
    )
    loaded = Counter()
    for part in ("train", "val"):
        loaded += rows_with_labels(raw_pixels(d, part, 255.0), getattr(d, f"{part}_y").numpy())
    assert loaded == whole
    assert torch.allclose(d.train_x.mean(), torch.tensor(0.0), atol=1e-5)
    assert torch.allclose(d.train_x.std(correction=0), torch.tensor(1.0), atol=1e-5)


def test_fashion_mnist_bad_magic_is_reported(tmp_path):
    write_fashion_mnist(tmp_path, gz=False)
    path = tmp_path / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte"
    blob = bytearray(path.read_bytes())
    blob[3] = 0x03  # claims three dimensions: an image file where labels belong
    path.write_bytes(bytes(blob))
    with pytest.raises(DatasetUnavailableError, match="train-labels-idx1-ubyte"):
        load_dataset("fashion_mnist", data_dir=tmp_path, download=False)


def test_missing_fashion_mnist_without_download(tmp_path):
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset("fashion_mnist", data_dir=tmp_path, download=False)
    assert str(tmp_path) in str(info.value)
    for name in FASHION_FILES:
        assert name in str(info.value)


# --------------------------------------------------------------------------- augmentation


def crop_offsets_and_flips(x: torch.Tensor, out: torch.Tensor) -> list[tuple[int, int, bool]]:
    """For each image, the (row offset, column offset, flip) of the one candidate it equals.

    Plain reference: all 2 * 81 crops of the zero-padded image, compared one by one.
    """
    n, _, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4))
    matches: list[list[tuple[int, int, bool]]] = [[] for _ in range(n)]
    for dy in range(9):
        for dx in range(9):
            crop = padded[:, :, dy : dy + h, dx : dx + w]
            for flip in (False, True):
                candidate = crop.flip(-1) if flip else crop
                equal = (candidate == out).flatten(1).all(dim=1)
                for i in torch.nonzero(equal).flatten().tolist():
                    matches[i].append((dy, dx, flip))
    assert all(len(m) == 1 for m in matches), "every output must be exactly one candidate"
    return [m[0] for m in matches]


def test_augment_is_a_padded_crop_and_maybe_a_flip_of_its_input():
    x = torch.randn(256, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    before = x.clone()
    out = augment_cifar_batch(x, generator=torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(x, before)  # the input is not modified
    draws = crop_offsets_and_flips(x, out)
    dys, dxs, flips = zip(*draws, strict=True)
    # Offsets cover the whole -4..+4 range and flips happen about half the time.
    assert set(dys) == set(range(9)) and set(dxs) == set(range(9))
    assert 0.4 < sum(flips) / len(flips) < 0.6
    # Images are augmented independently, not all with one shared draw.
    assert len(set(draws)) > 100


def test_augment_is_deterministic_for_a_generator_seed():
    x = torch.randn(16, 3, 32, 32)
    a = augment_cifar_batch(x, generator=torch.Generator().manual_seed(7))
    b = augment_cifar_batch(x, generator=torch.Generator().manual_seed(7))
    c = augment_cifar_batch(x, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_augment_advances_the_generator():
    x = torch.randn(16, 3, 32, 32)
    g = torch.Generator().manual_seed(7)
    assert not torch.equal(augment_cifar_batch(x, generator=g), augment_cifar_batch(x, generator=g))


def test_augment_rejects_unbatched_input():
    with pytest.raises(ValueError, match="N, C, H, W"):
        augment_cifar_batch(torch.zeros(3, 32, 32), generator=torch.Generator())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_augment_on_cuda_matches_cpu_with_a_cpu_generator_and_accepts_a_cuda_one():
    x = torch.randn(64, 3, 32, 32)
    cpu = augment_cifar_batch(x, generator=torch.Generator().manual_seed(3))
    gpu = augment_cifar_batch(x.cuda(), generator=torch.Generator().manual_seed(3))
    assert gpu.device.type == "cuda"
    assert torch.equal(gpu.cpu(), cpu)
    g1 = torch.Generator(device="cuda").manual_seed(3)
    g2 = torch.Generator(device="cuda").manual_seed(3)
    on_device = augment_cifar_batch(x.cuda(), generator=g1)
    assert torch.equal(on_device, augment_cifar_batch(x.cuda(), generator=g2))
    crop_offsets_and_flips(x, on_device.cpu())
