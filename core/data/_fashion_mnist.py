"""Fashion-MNIST from its IDX files, as torchvision lays them out (``FashionMNIST/raw``).

Parsed here rather than through ``torchvision.datasets.FashionMNIST`` for the same reason as
CIFAR-10: torchvision checks md5 sums a test fixture cannot match. Both the extracted files
and their ``.gz`` archives are accepted, since a manual copy often has only one of the two.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from core.data._files import ensure_files, unavailable
from core.data._raw import RawImages

FOLDER = "FashionMNIST/raw"
FILES = {  # part: (images, labels)
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
EXPECTED = tuple(f"{FOLDER}/{name}[.gz]" for pair in FILES.values() for name in pair)
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
# IDX magic numbers: two zero bytes, type code 0x08 (unsigned byte), number of dimensions.
IMAGES_MAGIC = 0x00000803  # 2051
LABELS_MAGIC = 0x00000801  # 2049


def _locate(folder: Path, name: str) -> Path:
    """The extracted file if present, else its gzip archive (which may be missing too)."""
    path = folder / name
    return path if path.is_file() else folder / f"{name}.gz"


def _read_idx(path: Path, *, magic: int, root: Path) -> np.ndarray:
    """Parse an IDX file: big-endian int32 magic, one big-endian int32 per dim, uint8 data."""
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            blob = f.read()
        if (found := int.from_bytes(blob[:4], "big")) != magic:
            raise ValueError(f"magic number {found}, expected {magic}")
        ndim = magic & 0xFF
        dims = tuple(int(d) for d in np.frombuffer(blob, dtype=">i4", count=ndim, offset=4))
        data = np.frombuffer(blob, dtype=np.uint8, offset=4 + 4 * ndim)
        if data.size != int(np.prod(dims)):
            raise ValueError(f"header says {dims} but holds {data.size} values")
    except Exception as exc:
        reason = f"{path.name} is not a readable IDX file ({type(exc).__name__}: {exc})"
        raise unavailable("fashion_mnist", root, EXPECTED, reason) from exc
    # A copy, because frombuffer views the immutable bytes and torch wants writable memory.
    return data.reshape(dims).copy()


def read_fashion_mnist(root: Path, *, download: bool) -> RawImages:
    """Read (downloading first if allowed and needed) the 60,000 + 10,000 28x28 images."""
    folder = root / FOLDER
    ensure_files("fashion_mnist", root, expected=EXPECTED, download=download,
                 torchvision_name="FashionMNIST",
                 find_missing=lambda: [f"{FOLDER}/{name}" for pair in FILES.values()
                                       for name in pair if not _locate(folder, name).is_file()])
    arrays = {}
    for part, (images_file, labels_file) in FILES.items():
        images = _read_idx(_locate(folder, images_file), magic=IMAGES_MAGIC, root=root)
        labels = _read_idx(_locate(folder, labels_file), magic=LABELS_MAGIC, root=root)
        if images.ndim != 3 or len(images) != len(labels):
            reason = f"{part} images of shape {images.shape} do not match {len(labels)} labels"
            raise unavailable("fashion_mnist", root, EXPECTED, reason)
        arrays[part] = (images[:, None], labels.astype(np.int64))  # images (N, 1, 28, 28)
    return RawImages(*arrays["train"], *arrays["test"], max_value=255.0, class_names=CLASS_NAMES)
