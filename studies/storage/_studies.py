"""The studies in a storage: list them with their progress, load their spec, delete, rename."""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

import optuna

from studies.spec import SpecError, StudySpec, spec_from_dict
from studies.storage import _layout as L
from studies.storage._lock import being_created
from studies.storage._open import open_storage, storage_exists
from studies.storage._read import read_trials, study_id_of
from studies.storage._urls import StorageError, redact

STATES: tuple[str, ...] = ("empty", "running", "finished", "partial")
CREATION_WAIT_S = 30.0  # longest wait for the spec of a study being created (see load_spec)

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


@dataclass(frozen=True)
class StudyInfo:
    """One study as the list shows it. Counts are trials; a "cell" is a grid point or, in
    tune mode, one trial of the budget."""

    name: str  # Optuna study name
    mode: str | None  # "grid" | "tune"; None for a study this tool did not create
    optimizers: tuple[str, ...]  # from the spec, in display order
    cells_total: int  # grid: cells enqueued (spec + extensions); tune: the trial budget
    cells_done: int  # grid: COMPLETE trials (diverged included); tune: COMPLETE + PRUNED
    running: int  # RUNNING trials (being trained by some worker now)
    waiting: int  # WAITING trials (enqueued, not taken yet)
    failed: int  # FAIL trials (a killed worker's trial; its cell was re-enqueued)
    pruned: int  # PRUNED trials (tune mode)
    diverged: int  # COMPLETE trials that diverged
    created: dt.datetime | None  # UTC; from the spec attribute, else the first trial
    state: str  # "empty" | "running" | "finished" | "partial" (see list_studies)
    best: dict[str, float] = field(default_factory=dict)  # optimizer → best final test error
    has_spec: bool = False  # the spec is stored, so the study can be resumed / extended
    description: str = ""  # the spec's description
    dataset: str | None = None  # the spec's data set

    @property
    def progress(self) -> float:
        """cells_done / cells_total in [0, 1] (1 for an empty total)."""
        return min(1.0, self.cells_done / self.cells_total) if self.cells_total else 1.0


def _spec_of(user_attrs: dict[str, Any]) -> StudySpec | None:
    raw = user_attrs.get(L.SPEC)
    if not isinstance(raw, dict):
        return None
    try:
        return spec_from_dict(raw)
    except SpecError:
        return None


def _created(user_attrs: dict[str, Any]) -> dt.datetime | None:
    raw = user_attrs.get(L.CREATED)
    if isinstance(raw, str):
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def list_studies(url: str) -> list[StudyInfo]:
    """Every study in the storage at ``url``, in creation order; [] for a missing SQLite file.

    ``state``: "empty" (no trials), "running" (some trial RUNNING), "finished" (every cell
    done, nothing waiting) or "partial" (stopped before the end: resume it with
    ``python -m studies run`` or ``worker``). Reads each study with one query per table, so
    a study of 10,000 trials lists in well under a second.
    """
    if not storage_exists(url):
        return []
    storage = open_storage(url, read_only=True, create=False)
    out = []
    for frozen in storage.get_all_studies():
        out.append(_info(storage, frozen))
    return out


def _info(storage: Any, frozen: Any) -> StudyInfo:
    attrs = frozen.user_attrs
    spec = _spec_of(attrs)
    mode = attrs.get(L.MODE) or (spec.mode if spec is not None else None)
    records = read_trials(storage, frozen._study_id, attr_keys=(L.DIVERGED, L.METRICS))
    counts = {s: 0 for s in ("COMPLETE", "RUNNING", "WAITING", "FAIL", "PRUNED")}
    best: dict[str, float] = {}
    diverged = 0
    for r in records:
        counts[r.state] = counts.get(r.state, 0) + 1
        if r.state != "COMPLETE":
            continue
        if r.user_attrs.get(L.DIVERGED):
            diverged += 1
            continue
        optimizer = r.params.get("optimizer")
        metrics = r.user_attrs.get(L.METRICS) or {}
        error = metrics.get("final_test_error")
        if error is None and mode == "grid":
            error = r.value
        if optimizer is None or not isinstance(error, int | float) or not math.isfinite(error):
            continue
        best[optimizer] = min(best.get(optimizer, math.inf), float(error))
    if mode == "tune":
        done = counts["COMPLETE"] + counts["PRUNED"]
        total = int(attrs.get(L.N_TRIALS) or (spec.tune.n_trials if spec and spec.tune else 0))
    else:
        done = counts["COMPLETE"]
        total = int(attrs.get(L.CELLS_TOTAL) or (spec.n_cells if spec else len(records)))
    if not records:
        state = "empty"
    elif counts["RUNNING"]:
        state = "running"
    elif done >= total and not counts["WAITING"]:
        state = "finished"
    else:
        state = "partial"
    created = _created(attrs)
    if created is None and records:
        starts = [r.datetime_start for r in records if r.datetime_start is not None]
        created = min(starts) if starts else None
    optimizers = tuple(spec.optimizers) if spec else tuple(sorted(best))
    return StudyInfo(
        name=frozen.study_name,
        mode=mode,
        optimizers=optimizers,
        cells_total=total,
        cells_done=done,
        running=counts["RUNNING"],
        waiting=counts["WAITING"],
        failed=counts["FAIL"],
        pruned=counts["PRUNED"],
        diverged=diverged,
        created=created,
        state=state,
        best={o: best[o] for o in optimizers if o in best},
        has_spec=spec is not None,
        description=spec.description if spec else "",
        dataset=spec.data.dataset if spec else None,
    )


def study_names(url: str) -> list[str]:
    """Names of the studies in the storage ([] for a missing SQLite file)."""
    if not storage_exists(url):
        return []
    storage = open_storage(url, read_only=True, create=False)
    return [s.study_name for s in storage.get_all_studies()]


def require_study(url: str, name: str, *, read_only: bool = True) -> tuple[Any, int]:
    """(storage, study id) of ``name``; :class:`StudyNotFoundError` if it is not there."""
    if not storage_exists(url):
        raise StudyNotFoundError(url, name, [])
    storage = open_storage(url, read_only=read_only, create=False)
    study_id = study_id_of(storage, name)
    if study_id is None:
        raise StudyNotFoundError(url, name, [s.study_name for s in storage.get_all_studies()])
    return storage, study_id


def load_spec(url: str, name: str) -> StudySpec:
    """The spec stored with study ``name``.

    A study that another process is creating right now (it exists, its spec is not stored
    yet, and its creator holds the study lock) is waited for, up to
    :data:`CREATION_WAIT_S`: Optuna creates a study before its attributes can be set, and a
    reader polling at that moment must not be told the study was "not created by studies".
    Raises :class:`StudyNotFoundError`, or :class:`StorageError` when the study has no spec
    (an Optuna study made by other code) or its spec no longer validates.
    """
    storage, study_id = require_study(url, name)
    raw = storage.get_study_user_attrs(study_id).get(L.SPEC)
    deadline = time.monotonic() + CREATION_WAIT_S
    while not isinstance(raw, dict) and being_created(url, storage, name) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
        raw = storage.get_study_user_attrs(study_id).get(L.SPEC)
    if not isinstance(raw, dict):
        # Read again: the creator may have stored the spec and let go since the first read.
        raw = storage.get_study_user_attrs(study_id).get(L.SPEC)
    if not isinstance(raw, dict):
        raise StorageError("study", f"{name!r} has no stored spec (it was not created by studies)")
    try:
        return spec_from_dict(raw)
    except SpecError as error:
        raise StorageError("study", f"{name!r} has a stored spec that does not validate: {error}"
                           ) from None


def delete_study(url: str, name: str) -> None:
    """Delete study ``name`` and all its trials. Workers still running on it stop with
    :class:`StudyDeletedError`."""
    storage, _ = require_study(url, name, read_only=False)
    optuna.delete_study(study_name=name, storage=storage)


def rename_study(url: str, old: str, new: str) -> None:
    """Rename a study: Optuna has no rename, so it is copied under ``new``, then deleted.

    Trials keep their numbers, states, params, attributes and intermediate values; the stored
    spec's name becomes ``new``. Not atomic: if the process dies between the copy and the
    delete, both studies exist (delete one). Refused while trials are RUNNING, since workers
    would keep writing to the old study.
    """
    storage, study_id = require_study(url, old, read_only=False)
    check_study_name(new)
    if study_id_of(storage, new) is not None:
        raise StorageError("study", f"{new!r} already exists in {redact(url)}; choose another name")
    running = storage.get_all_trials(
        study_id, deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)
    )
    if running:
        raise StorageError(
            "study", f"{old!r} has {len(running)} running trial(s); stop its workers first"
        )
    optuna.copy_study(
        from_study_name=old, from_storage=storage, to_storage=storage, to_study_name=new
    )
    new_id = storage.get_study_id_from_name(new)
    raw = storage.get_study_user_attrs(new_id).get(L.SPEC)
    if isinstance(raw, dict):
        storage.set_study_user_attr(new_id, L.SPEC, {**raw, "name": new})
    optuna.delete_study(study_name=old, storage=storage)


def check_study_name(name: str) -> str:
    """``name`` if it is a valid study name (the rule of StudySpec.name), else StorageError."""
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise StorageError("study", f"name must be {NAME_TEXT}, got {name!r}")
    return name
