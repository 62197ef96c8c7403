"""Where data files live, and what to tell the user when they are not there."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

DATA_DIR_ENV = "WDLAB_DATA_DIR"


class DatasetUnavailableError(RuntimeError):
    """The files of a data set are missing (or unreadable) and could not be downloaded.

    The message names the directory searched, the files expected there, and the two ways to
    get them, so a user on an offline GPU box knows exactly what to copy where.
    """


def default_data_dir() -> Path:
    """Directory data sets are read from and downloaded to when no ``data_dir`` is given.

    ``$WDLAB_DATA_DIR`` if set (so a shared cluster cache or an offline copy can be used
    without touching code or presets), else ``~/.cache/wdlab/data``.
    """
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "wdlab" / "data"


def unavailable(dataset: str, root: Path, expected: Sequence[str], reason: str
                ) -> DatasetUnavailableError:
    """The error to raise, naming what is missing, where, and the two ways to get it."""
    return DatasetUnavailableError(
        f"data set {dataset!r} is not available: {reason}. Looked in {root} for: "
        f"{', '.join(expected)}. To get it, call load_dataset({dataset!r}, download=True) on a "
        f"machine with network access, or copy those files into {root}. The directory is the "
        f"data_dir argument, else ${DATA_DIR_ENV}, else ~/.cache/wdlab/data.")


def ensure_files(dataset: str, root: Path, *, expected: Sequence[str],
                 find_missing: Callable[[], list[str]], download: bool, torchvision_name: str
                 ) -> None:
    """Make sure every expected file is under ``root``, downloading it through
    ``torchvision.datasets.<torchvision_name>`` if allowed.

    ``find_missing`` is asked again after the download because a fetch can "succeed" and still
    leave files out (an interrupted extraction); the user hears about that, not a KeyError.
    """
    if not (missing := find_missing()):
        return
    if not download:
        what = ("none of the files are there" if len(missing) == len(expected)
                else f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing")
        raise unavailable(dataset, root, expected, f"{what} and download=False")
    try:
        root.mkdir(parents=True, exist_ok=True)
        # Imported lazily: torchvision is slow to import and only needed the first time.
        from torchvision import datasets

        getattr(datasets, torchvision_name)(root=str(root), train=True, download=True)
    except Exception as exc:  # urllib, socket, tarfile and torchvision all raise differently
        reason = f"the download failed ({type(exc).__name__}: {exc})"
        raise unavailable(dataset, root, expected, reason) from exc
    if missing := find_missing():
        reason = f"the download finished but {', '.join(missing)} are still missing"
        raise unavailable(dataset, root, expected, reason)
