"""Creating, resuming and extending studies: the spec goes in first, then one trial per cell.

A grid cell becomes one WAITING Optuna trial whose params (optimizer, lr, weight_decay in the
spec's convention, seed, schedule) are set at creation, so workers on any machine just take
waiting trials (see ``_worker``) and optuna-dashboard shows the whole grid from the start.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import math
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from studies.runner._data import load_data
from studies.spec import MAX_SEED, MIN_LR, Cell, SpecError, StudySpec, log_grid
from studies.storage import (
    SCHEMA_VERSION,
    Stopped,
    StorageError,
    StoredStudy,
    being_created,
    check_study_name,
    open_storage,
    redact,
    study_id_of,
    study_lock,
    study_mode,
)
from studies.storage import layout as L

log = logging.getLogger("studies.runner")


def create_study(spec: StudySpec, *, storage: str, study_name: str | None = None,
                 data_dir: str | Path | None = None, stop: threading.Event | None = None) -> str:
    """Create the study of ``spec`` (or resume it); returns the study name.

    * The study's attributes are those of :mod:`studies.storage.layout` (the spec first;
      ``train_size``: B, for the normalized decay).
    * Grid mode enqueues every cell exactly once as a WAITING trial, however many processes
      create the study at once (:func:`studies.storage.study_lock`: a racing creator waits,
      then finds it complete; one killed mid-enqueue leaves the rest to the next one).
    * A study of that name made from the same spec: resumed, nothing added (cells missing
      after an interrupted creation are enqueued). From a different spec: :class:`StorageError`
      naming the study and suggesting ``--study NEWNAME``.
    * ``stop`` (set by SIGINT/SIGTERM) is honoured while waiting for another creator and
      between enqueued cells: :class:`studies.storage.Stopped`.

    Everything is checked before anything is written: the name, the data set (loaded once,
    which also measures B), the storage URL and an existing study's spec (on a read-only
    view, so a refused run changes nothing in the storage). Raises :class:`SpecError`,
    :class:`StorageError` or :class:`core.data.DatasetUnavailableError`.
    """
    spec = spec.renamed(check_study_name(study_name or spec.name))
    name = spec.name
    spec_dict = spec.to_dict()  # JSON-ready, as the storage gives it back
    train_size = load_data(spec, data_dir=data_dir).train_size
    view = open_storage(storage, read_only=True)  # a missing file reads as an EmptyStorage
    # A spec-less study that a racing creator is making is checked under the lock. The
    # attributes are read again once the lock is seen free: a creator that finished between
    # the two reads has written its spec by then.
    study_id = study_id_of(view, name)
    if study_id is not None and (L.SPEC in view.get_study_user_attrs(study_id)
                                 or not being_created(storage, view, name)):
        attrs = view.get_study_user_attrs(study_id)
        _check_same_spec(StoredStudy(storage, view, study_id, name, attrs), spec_dict)
    st = open_storage(storage)
    waiting = functools.partial(log.info, "waiting for another process creating or extending "
                                "study %s in %s", name, redact(storage))
    with study_lock(storage, st, name, stop=stop, on_wait=waiting):
        study_id = study_id_of(st, name)
        if study_id is not None:
            _resume(st, study_id, spec, spec_dict, url=storage, stop=stop)
            return name
        try:
            study = optuna.create_study(study_name=name, storage=st, direction="minimize")
        except optuna.exceptions.DuplicatedStudyError:  # made by a process without the lock
            _resume(st, st.get_study_id_from_name(name), spec, spec_dict, url=storage,
                    stop=stop)
            return name
        mode = study_mode(spec)
        # The spec first: readers wait for it while the lock is held (load_spec).
        for key, value in {L.SPEC: spec_dict, L.SCHEMA: SCHEMA_VERSION,
                           L.CREATED: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                           L.MODE: mode.name, L.TRAIN_SIZE: train_size,
                           **mode.created_attrs()}.items():
            study.set_user_attr(key, value)
        cells = mode.cells()  # tune: none, the sampler proposes the trials
        if cells:
            _enqueue(study, spec, cells, existing=set(), stop=stop)
            study.set_user_attr(L.CELLS_ENQUEUED, True)
    return name


def _check_same_spec(stored: StoredStudy, spec_dict: dict[str, Any]) -> None:
    """A spec stored by an older version lacks fields added since, so the spec is compared
    as this version decodes it (a stored spec that no longer validates, as stored)."""
    raw = stored.attrs.get(L.SPEC)
    where = f"{stored.name!r} already exists in {redact(stored.url)}"
    if not isinstance(raw, dict):
        raise StorageError("study", f"{where} and was not made from a spec; use --study NEWNAME")
    if (stored.spec.to_dict() if stored.spec else raw) != spec_dict:
        raise StorageError("study", f"{where} with a different spec; run the same spec to "
                           "resume it, or use --study NEWNAME for a new study")


def _resume(st: Any, study_id: int, spec: StudySpec, spec_dict: dict[str, Any], *, url: str,
            stop: threading.Event | None) -> None:
    """Under the study lock: check the spec, enqueue the cells an interrupted creation left."""
    stored = StoredStudy(url, st, study_id, spec.name, st.get_study_user_attrs(study_id))
    _check_same_spec(stored, spec_dict)
    cells = stored.mode.cells()
    if cells and not stored.attrs.get(L.CELLS_ENQUEUED):
        study = stored.optuna_study()
        existing = {r.user_attrs[L.CELL] for r in stored.cell_trials()}
        _enqueue(study, spec, cells, existing=existing, stop=stop)
        study.set_user_attr(L.CELLS_ENQUEUED, True)


def _distributions(spec: StudySpec, cell: Cell) -> dict[str, BaseDistribution]:
    """Distributions of a cell's params: one kind per param for the whole study (Optuna
    requires it), bounds that cover the spec's grid and the cell (extensions may go beyond)."""
    lrs = [cell.lr, *(v for o in spec.optimizers for v in spec.lr_values(o))]
    wds = [cell.weight_decay, *(v for o in spec.optimizers for v in spec.weight_decay_values(o))]
    seeds = [*spec.seeds, cell.seed]
    return {
        "optimizer": CategoricalDistribution(list(spec.optimizers)),
        "lr": FloatDistribution(min(lrs), max(lrs), log=True),
        "weight_decay": FloatDistribution(0.0, max(wds)),
        "seed": IntDistribution(min(seeds), max(seeds)),
        "schedule": CategoricalDistribution(list(spec.schedule_names)),
    }


def _enqueue(study: optuna.Study, spec: StudySpec, cells: Iterable[Cell], *, existing: set[str],
             stop: threading.Event | None = None) -> int:
    """Add a WAITING trial for each cell not in ``existing``; call it under the study lock."""
    added = 0
    for cell in cells:
        if stop is not None and stop.is_set():
            raise Stopped
        if (key := L.key_of(cell)) not in existing:
            study.add_trial(optuna.trial.create_trial(
                state=TrialState.WAITING, params=L.cell_params(cell),
                distributions=_distributions(spec, cell), user_attrs=L.cell_attrs(cell)))
            existing.add(key)
            added += 1
    return added


def _check_cell(spec: StudySpec, cell: Cell, path: str) -> None:
    if not isinstance(cell, Cell):
        raise SpecError(path, f"must be a studies.spec.Cell, got {type(cell).__name__}")
    if cell.optimizer not in spec.optimizers:
        raise SpecError(f"{path}.optimizer", f"must be one of {', '.join(spec.optimizers)}")
    if cell.schedule not in spec.schedule_names:
        raise SpecError(f"{path}.schedule", f"must be one of {', '.join(spec.schedule_names)}")
    if cell.convention != spec.convention:
        raise SpecError(f"{path}.convention", f"must be the study's {spec.convention!r}")
    if not (isinstance(cell.lr, int | float) and math.isfinite(cell.lr) and cell.lr >= MIN_LR):
        raise SpecError(f"{path}.lr", f"must be a finite number >= {MIN_LR:.4g} (smaller ones "
                        f"round to 0 in float32), got {cell.lr!r}")
    wd = cell.weight_decay
    if not (isinstance(wd, int | float) and math.isfinite(wd) and wd >= 0):
        raise SpecError(f"{path}.weight_decay", f"must be a finite number >= 0, got {wd!r}")
    if isinstance(cell.seed, bool) or not isinstance(cell.seed, int) \
            or not 0 <= cell.seed <= MAX_SEED:
        raise SpecError(f"{path}.seed", f"must be an integer in [0, {MAX_SEED}]")


def extend_study(*, storage: str, study_name: str, cells: Iterable[Cell]) -> int:
    """Enqueue extra cells of a grid study (a finer grid, more seeds); returns how many were
    new. Cells already in the study, in any state, are skipped. Workers still running on the
    study pick the new cells up; otherwise start one (``python -m studies worker``).
    """
    stored = StoredStudy.open(storage, study_name, read_only=False)
    spec = stored.need_mode("grid", "use add_trials instead")
    cells = list(cells)
    for i, cell in enumerate(cells):
        _check_cell(spec, cell, f"cells[{i}]")
    with study_lock(storage, stored.storage, study_name):  # no other extender enqueues now
        existing = {r.user_attrs[L.CELL] for r in stored.cell_trials()}
        study = stored.optuna_study()
        added = _enqueue(study, spec, cells, existing=existing)
        if added:
            study.set_user_attr(L.CELLS_TOTAL, len(existing))
    return added


def add_trials(storage: str, study_name: str, n: int) -> int:
    """Raise a tune study's trial budget by ``n``; returns the new budget."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SpecError("n", f"must be an integer >= 1, got {n!r}")
    stored = StoredStudy.open(storage, study_name, read_only=False)
    stored.need_mode("tune", "use extend_study instead")
    with study_lock(storage, stored.storage, study_name):  # two raises must not lose one
        stored.refresh()
        budget = stored.mode.total(stored.attrs) + n
        stored.storage.set_study_user_attr(stored.study_id, L.N_TRIALS, budget)
    return budget


def _range(name: str, pair: Sequence[float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise SpecError(name, "must be a pair (min, max) of numbers") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
        raise SpecError(name, f"must satisfy 0 < min <= max, got ({lo!r}, {hi!r})")
    return lo, hi


def _counts(count: int | tuple[int, int]) -> tuple[int, int]:
    pair = (count, count) if isinstance(count, int) else tuple(count)
    if len(pair) != 2 or any(isinstance(c, bool) or not isinstance(c, int) or c < 1
                             for c in pair):
        raise SpecError("count", f"must be an integer >= 1 or a pair of them, got {count!r}")
    return pair[0], pair[1]  # type: ignore[return-value]


def refine_cells(spec: StudySpec, *, lr_range: tuple[float, float],
                 wd_range: tuple[float, float], count: int | tuple[int, int],
                 optimizers: Sequence[str] | None = None, seeds: Sequence[int] | None = None,
                 schedules: Sequence[str] | None = None) -> list[Cell]:
    """A finer log₂ grid over a region: ``count`` learning rates × ``count`` weight decays
    (or ``(n_lr, n_wd)``) from min to max inclusive, in the spec's weight-decay convention,
    for each optimizer (default all), seed (default the spec's) and schedule (default all).

    A range with min == max needs a count of 1 on that axis. Feed the result to
    :func:`extend_study`, which skips cells already there.
    """
    lo_lr, hi_lr = _range("lr_range", lr_range)
    lo_wd, hi_wd = _range("wd_range", wd_range)
    n_lr, n_wd = _counts(count)
    for axis, lo, hi, n in (("lr_range", lo_lr, hi_lr, n_lr), ("wd_range", lo_wd, hi_wd, n_wd)):
        if (lo == hi) != (n == 1):
            raise SpecError("count", f"{axis}: use count 1 exactly when min == max")
    lrs, wds = log_grid(lo_lr, hi_lr, n_lr), log_grid(lo_wd, hi_wd, n_wd)
    opts = _subset("optimizers", optimizers, spec.optimizers)
    scheds = _subset("schedules", schedules, spec.schedule_names)
    axes = itertools.product(spec.seeds if seeds is None else seeds, scheds, opts, lrs, wds)
    return [Cell(optimizer=o, lr=lr, weight_decay=wd, seed=s, schedule=sc,
                 convention=spec.convention) for s, sc, o, lr, wd in axes]


def more_seeds_cells(spec: StudySpec, *, seeds: Sequence[int],
                     cells: Iterable[Cell] | None = None) -> list[Cell]:
    """Every distinct (optimizer, lr, weight decay, schedule) of ``cells`` (default: the
    spec's grid; :meth:`StoredStudy.cells` includes extensions) with each of ``seeds``."""
    base = spec.cells() if cells is None else list(cells)
    points: dict[tuple[str, str, float, float], Cell] = {}
    for c in base:
        points.setdefault((c.schedule, c.optimizer, c.lr, c.weight_decay), c)
    return [Cell(**{**L.cell_params(c), "seed": int(s)}, convention=c.convention)
            for s in seeds for c in points.values()]


def _subset(name: str, chosen: Sequence[str] | None, allowed: Sequence[str]) -> tuple[str, ...]:
    if chosen is None:
        return tuple(allowed)
    for i, value in enumerate(chosen):
        if value not in allowed:
            raise SpecError(f"{name}[{i}]", f"must be one of {', '.join(allowed)}, got {value!r}")
    return tuple(chosen)
