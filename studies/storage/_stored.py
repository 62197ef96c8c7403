"""A stored study as one object: its decoded spec, its mode, its progress; and the list.

Every reader of a study (the worker, the live view, ``list``, export, resume, the report)
opens it as a :class:`StoredStudy`. The spec stored with it is decoded here and only here:
a study without one (made by other code) or whose spec no longer validates has
``spec is None`` for readers that can do without it (lists, tables, exports), and
:meth:`StoredStudy.need_spec` raises one :class:`StorageError` for those that cannot.

Its mode is an object (:mod:`studies.storage._modes`) that knows the study's total, which
trial states count as done, and its cells; :class:`Progress` is counted through it, once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.storages import BaseStorage

from studies.eta import format_duration
from studies.spec import Cell, SpecError, StudySpec, spec_from_dict
from studies.storage import layout as L
from studies.storage._lock import being_created
from studies.storage._modes import Mode, study_mode
from studies.storage._open import open_storage
from studies.storage._read import TrialRecord, count_states, read_trials, study_id_of
from studies.storage._studies import require_study
from studies.storage._urls import StorageError

CREATION_WAIT_S = 30.0  # longest wait for the spec of a study being created (load_spec)


@dataclass(frozen=True)
class Progress:
    """Where a study stands. A "cell" is a grid point or, in tune mode, one trial of the
    budget."""

    done: int  # finished cells (grid: COMPLETE, diverged included; tune: COMPLETE + PRUNED)
    total: int  # cells of the study (grid: enqueued, extensions included; tune: the budget)
    running: int  # RUNNING trials, all workers
    waiting: int  # WAITING trials (enqueued, not taken yet)
    failed: int  # FAIL trials (a killed or stopped worker's; its cell was re-enqueued)
    pruned: int  # PRUNED trials (tune mode)
    partial: float  # done plus the finished fraction of the cells in training
    eta_seconds: float | None = None  # time left (studies.eta); None when unknown
    message: str = ""  # what a worker is doing, one line

    @property
    def fraction(self) -> float:
        """``partial / total`` in [0, 1] (1 for an empty total)."""
        return min(1.0, self.partial / self.total) if self.total else 1.0

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.done >= self.total and not self.running

    def advanced(self, inflight: float, **changes: Any) -> Progress:
        """This progress with ``inflight`` cells' worth of training in running trials added to
        ``done`` as ``partial`` (at most ``total``), and ``changes``."""
        partial = min(self.done + inflight, float(self.total or math.inf))
        return dataclasses.replace(self, partial=partial, **changes)

    @property
    def eta_text(self) -> str:
        """The ETA in words (the one formatter, :func:`studies.eta.format_duration`)."""
        return format_duration(self.eta_seconds)


class StoredStudy:
    """A study in an Optuna storage, read the way this project laid it out
    (:mod:`studies.storage.layout`). ``url`` may be "" for a storage given as an object."""

    def __init__(self, url: str, storage: BaseStorage, study_id: int, name: str,
                 attrs: dict[str, Any]) -> None:
        self.url, self.storage, self.study_id, self.name = url, storage, study_id, name
        self.attrs = attrs  # study user attributes as last read (see refresh)

    @functools.cached_property
    def _decoded(self) -> tuple[StudySpec | None, str]:
        """The one place a stored spec is decoded, on first use (polls need no spec):
        (spec, "") or (None, what is wrong)."""
        raw = self.attrs.get(L.SPEC)
        if not isinstance(raw, dict):
            return None, f"{self.name!r} has no stored spec (it was not created by studies)"
        try:
            return spec_from_dict(raw), ""
        except SpecError as error:
            return None, f"{self.name!r} has a stored spec that does not validate: {error}"

    @property
    def spec(self) -> StudySpec | None:
        """The stored spec, decoded; None without one or when it no longer validates."""
        return self._decoded[0]

    @property
    def declared_mode(self) -> str | None:
        """"grid" or "tune" as stored; None for a study this tool did not create."""
        return self.attrs.get(L.MODE) or (self.spec.mode if self.spec is not None else None)

    @functools.cached_property
    def mode(self) -> Mode:
        return study_mode(self.spec, self.declared_mode)

    @classmethod
    def open(cls, source: str | BaseStorage, name: str, *, read_only: bool = True,
             wait: bool = False) -> StoredStudy:
        """Study ``name`` in ``source`` (a storage URL or an opened storage). ``wait``: a
        study that another process is creating right now (it exists, its spec is not
        stored yet, its creator holds the study lock) is waited for, up to
        :data:`CREATION_WAIT_S`. Raises :class:`StudyNotFoundError` (a URL) or
        :class:`StorageError`."""
        if isinstance(source, str):
            url, (storage, study_id) = source, require_study(source, name, read_only=read_only)
        elif (found := study_id_of(source, name)) is not None:
            url, storage, study_id = "", source, found
        else:
            raise StorageError("study", f"no study {name!r} in this storage")
        attrs = storage.get_study_user_attrs(study_id)
        deadline = time.monotonic() + CREATION_WAIT_S
        while wait and url and not isinstance(attrs.get(L.SPEC), dict) \
                and being_created(url, storage, name) and time.monotonic() < deadline:
            time.sleep(0.05)
            attrs = storage.get_study_user_attrs(study_id)
        if wait and not isinstance(attrs.get(L.SPEC), dict):
            # Read again: the creator may have stored the spec and let go since.
            attrs = storage.get_study_user_attrs(study_id)
        return cls(url, storage, study_id, name, attrs)

    def need_spec(self) -> StudySpec:
        """The decoded spec; :class:`StorageError` when there is none or it is invalid."""
        if self.spec is None:
            raise StorageError("study", self._decoded[1])
        return self.spec

    def need_mode(self, name: str, instead: str) -> StudySpec:
        """The spec of a study of mode ``name``; :class:`StorageError` saying ``instead``
        for the other mode."""
        spec = self.need_spec()
        if self.mode.name != name:
            raise StorageError("study", f"{self.name!r} is a {self.mode.name} study: {instead}")
        return spec

    @property
    def train_size(self) -> int | None:
        """B, the training points the study was created with (for λ_norm)."""
        value = self.attrs.get(L.TRAIN_SIZE)
        return None if value is None else int(value)

    def refresh(self) -> None:
        """Read the study's attributes again (totals grow with extensions)."""
        self.attrs = self.storage.get_study_user_attrs(self.study_id)

    def optuna_study(self, **kwargs: Any) -> optuna.Study:
        return optuna.load_study(study_name=self.name, storage=self.storage, **kwargs)

    def trials(self, **kwargs: Any) -> list[TrialRecord]:
        """:func:`studies.storage.read_trials` of this study."""
        return read_trials(self.storage, self.study_id, **kwargs)

    def running(self) -> list[TrialRecord]:
        """The RUNNING trials, with the intermediate values they reported."""
        return self.trials(states=("RUNNING",), intermediate_when=("RUNNING",))

    def cell_trials(self) -> list[TrialRecord]:
        """The trials that hold a grid cell (user attribute ``cell``), except removed ones:
        a removed cell may be added again."""
        return [r for r in self.trials(attr_keys=(L.CELL, L.REMOVED))
                if isinstance(r.user_attrs.get(L.CELL), str) and not r.user_attrs.get(L.REMOVED)]

    def counts(self) -> dict[str, int]:
        """Trials per state name, every state present (one small query)."""
        return count_states(self.storage, self.study_id)

    def progress(self, counts: Mapping[str, int] | None = None, *,
                 inflight: float | None = None) -> Progress:
        """Where the study stands now. ``inflight``: the cells' worth of training already
        done in running trials, if the caller knows it (a worker knows its population);
        else it is read from the epochs each running trial reported."""
        counts = self.counts() if counts is None else counts
        total = self.mode.total(self.attrs, sum(counts.values()))
        done = self.mode.done(counts)
        if inflight is None:
            reads = counts.get("RUNNING") and self.spec is not None and self.spec.epochs > 0
            inflight = self.inflight(self.running() if reads else [])
        return Progress(done=done, total=total, running=counts.get("RUNNING", 0),
                        waiting=counts.get("WAITING", 0), failed=counts.get("FAIL", 0),
                        pruned=counts.get("PRUNED", 0), partial=float(done)).advanced(inflight)

    def inflight(self, running: Sequence[TrialRecord]) -> float:
        """The cells' worth of training done in ``running`` trials (:meth:`running`): the
        epochs each reported, over the spec's epochs."""
        epochs = self.spec.epochs if self.spec is not None else 0
        return sum((min(len(r.intermediate), epochs) / epochs for r in running), 0.0) \
            if epochs > 0 else 0.0

    def cells(self) -> list[Cell]:
        """The distinct grid cells of the study's trials (the spec's and every
        extension's), in trial order."""
        convention = self.need_spec().convention
        out: dict[str, Cell] = {}
        for record in self.trials(attr_keys=()):
            cell = L.cell_of(record.params, convention)
            if cell is not None:
                out.setdefault(L.key_of(cell), cell)
        return list(out.values())

    def info(self) -> StudyInfo:
        """The study as the list shows it (one query per table)."""
        records = self.trials(attr_keys=(L.DIVERGED, L.METRICS))
        p = self.progress(Counter(r.state for r in records), inflight=0.0)
        complete = [r for r in records if r.state == "COMPLETE"]
        diverged = sum(1 for r in complete if r.user_attrs.get(L.DIVERGED))
        best: dict[str, float] = {}
        for r in complete:
            optimizer = r.params.get("optimizer")
            error = (r.user_attrs.get(L.METRICS) or {}).get("final_test_error")
            if error is None and self.mode.objective == "test_error" and self.declared_mode:
                error = r.value  # a grid trial's value is its final test error
            if optimizer is not None and not r.user_attrs.get(L.DIVERGED) \
                    and isinstance(error, int | float) and math.isfinite(error):
                best[optimizer] = min(best.get(optimizer, math.inf), float(error))
        state = ("empty" if not records else "running" if p.running
                 else "finished" if p.done >= p.total and not p.waiting else "partial")
        starts = [r.datetime_start for r in records if r.datetime_start is not None]
        created = _created(self.attrs) or min(starts, default=None)
        spec = self.spec
        optimizers = tuple(spec.optimizers) if spec else tuple(sorted(best))
        return StudyInfo(
            name=self.name, mode=self.declared_mode, optimizers=optimizers,
            cells_total=p.total, cells_done=p.done, running=p.running, waiting=p.waiting,
            failed=p.failed, pruned=p.pruned, diverged=diverged, created=created,
            state=state, best={o: best[o] for o in optimizers if o in best},
            has_spec=spec is not None, description=spec.description if spec else "",
            dataset=spec.data.dataset if spec else None,
        )


@dataclass(frozen=True)
class StudyInfo:
    """One study as the list shows it. Counts are those of :class:`Progress`."""

    name: str  # Optuna study name
    mode: str | None  # "grid" | "tune"; None for a study this tool did not create
    optimizers: tuple[str, ...]  # from the spec, in display order
    cells_total: int
    cells_done: int
    running: int
    waiting: int
    failed: int
    pruned: int
    diverged: int  # COMPLETE trials that diverged
    created: dt.datetime | None  # UTC; from the spec attribute, else the first trial
    state: str  # "empty", "running", "finished" or "partial" (see list_studies)
    best: dict[str, float] = field(default_factory=dict)  # optimizer → best final test error
    has_spec: bool = False  # the spec is stored, so the study can be resumed / extended
    description: str = ""  # the spec's description
    dataset: str | None = None  # the spec's data set

    @property
    def progress(self) -> float:
        """cells_done / cells_total in [0, 1] (1 for an empty total)."""
        return min(1.0, self.cells_done / self.cells_total) if self.cells_total else 1.0


def _created(attrs: Mapping[str, Any]) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(attrs.get(L.CREATED))  # type: ignore[arg-type]
    except (TypeError, ValueError):  # none stored, or not an ISO time
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def list_studies(url: str) -> list[StudyInfo]:
    """Every study in the storage at ``url``, in creation order; [] for a missing SQLite file.

    ``state``: "empty" (no trials), "running" (some trial RUNNING), "finished" (every cell
    done, nothing waiting) or "partial" (stopped before the end: resume it with
    ``python -m studies run`` or ``worker``). Reads each study with one query per table, so
    a study of 10,000 trials lists in well under a second.
    """
    storage = open_storage(url, read_only=True)  # a missing file reads as an EmptyStorage
    return [StoredStudy(url, storage, s._study_id, s.study_name, s.user_attrs).info()
            for s in storage.get_all_studies()]


def load_spec(url: str, name: str) -> StudySpec:
    """The spec stored with study ``name``, waiting for a study being created (see
    :meth:`StoredStudy.open`). Raises :class:`StudyNotFoundError`, or :class:`StorageError`
    when the study has no spec (an Optuna study made by other code) or it does not validate.
    """
    return StoredStudy.open(url, name, wait=True).need_spec()
