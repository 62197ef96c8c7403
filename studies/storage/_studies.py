"""The studies in a storage by name: find one, delete one; the errors that name one."""

from __future__ import annotations

import re
from typing import Any

import optuna

from studies.storage._open import open_storage, storage_exists
from studies.storage._read import study_id_of
from studies.storage._urls import StorageError, redact

# The rule of StudySpec.name, for names given on their own (--study NAME, rename).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
NAME_TEXT = "1-64 characters of letters, digits, '_', '.' and '-'"


class StudyNotFoundError(StorageError):
    """No study of that name in the storage; the message lists the studies that are there."""

    def __init__(self, url: str, name: str, available: list[str]) -> None:
        shown = ", ".join(available[:10]) + (", ..." if len(available) > 10 else "")
        there = f"studies there: {shown}" if available else "it has no studies"
        super().__init__("study", f"no study {name!r} in {redact(url)} ({there})")
        self.name = name


class StudyDeletedError(StorageError):
    """The study was deleted while a worker was training it: the worker stopped."""

    def __init__(self, name: str) -> None:
        super().__init__("study", f"{name!r} was deleted while this worker was training it; "
                         "stopped (its trials are gone with it)")
        self.name = name


def study_names(url: str) -> list[str]:
    """Names of the studies in the storage ([] for a missing SQLite file)."""
    return [s.study_name for s in open_storage(url, read_only=True).get_all_studies()]


def require_study(url: str, name: str, *, read_only: bool = True) -> tuple[Any, int]:
    """(storage, study id) of ``name``; :class:`StudyNotFoundError` if it is not there."""
    if not storage_exists(url):
        raise StudyNotFoundError(url, name, [])
    storage = open_storage(url, read_only=read_only, create=False)
    if (study_id := study_id_of(storage, name)) is None:
        raise StudyNotFoundError(url, name, [s.study_name for s in storage.get_all_studies()])
    return storage, study_id


def delete_study(url: str, name: str) -> None:
    """Delete study ``name`` and all its trials. Workers still running on it stop with
    :class:`StudyDeletedError`."""
    storage, _ = require_study(url, name, read_only=False)
    optuna.delete_study(study_name=name, storage=storage)


def check_study_name(name: str) -> str:
    """``name`` if it is a valid study name (the rule of StudySpec.name), else StorageError."""
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise StorageError("study", f"name must be {NAME_TEXT}, got {name!r}")
    return name
