"""Cells a user added to a grid study after creating it (Refine: a finer grid, more seeds),
placed exactly, and taken back out.

**Exact placement.** A refined region's ends are typed or carried as text and its inner
points come from ``log_grid``, so they land a rounding error away from points the study
already has (0.0009765625 typed back as 0.000976562). A cell within :data:`SNAP_REL` of an
existing coordinate *is* that coordinate: it is snapped onto it, and then either already in
the study or a new cell on the same grid line. Never a near-duplicate column.

**Removing.** Optuna cannot delete a trial. A cell that has not trained yet (WAITING) is
claimed and set to FAIL with ``removed=True``, so no worker takes it. A finished one is set
to FAIL with ``removed=True`` in the storage's tables, after the user confirmed. Either way
it leaves every table, figure, report and export (``studies.export`` skips removed
trials); the storage keeps the row, marked.
A cell in training cannot be removed until its population ends (cancel the run first).
The study's cell count drops accordingly, so its progress stays true.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from studies.spec import Cell
from studies.storage import StorageError, StoredStudy, rdb_of
from studies.storage import layout as L

#: Relative distance under which two grid coordinates are the same point (0.01 %: far
#: above float and 12-digit rounding noise, far below any grid's spacing).
SNAP_REL = 1e-4


def snap(x: float, existing: Iterable[float]) -> float:
    """``x``, or the existing coordinate within :data:`SNAP_REL` of it."""
    for v in existing:
        if x == v or (v != 0 and abs(x - v) <= SNAP_REL * max(abs(x), abs(v))):
            return v
    return x


def snap_cells(cells: Sequence[Cell], lrs: Iterable[float], wds: Iterable[float]
               ) -> list[Cell]:
    """``cells`` with every coordinate snapped onto ``lrs`` / ``wds`` (the study's), then
    without duplicates, in order."""
    lrs, wds = sorted(set(lrs)), sorted(set(wds))
    out: dict[str, Cell] = {}
    for c in cells:
        c = Cell(**{**L.cell_params(c), "lr": snap(c.lr, lrs),
                    "weight_decay": snap(c.weight_decay, wds)}, convention=c.convention)
        out.setdefault(L.key_of(c), c)
    return list(out.values())


def exact_text(x: float) -> str:
    """A coordinate as text that reads back to exactly the same float: ``2^-10`` for a
    power of two (the paper's grids), else the shortest exact decimal."""
    if x > 0 and math.isfinite(x):
        k = math.log2(x)
        if k == round(k) and 2.0 ** round(k) == x:
            return f"2^{round(k)}"
    return repr(float(x))


@dataclass(frozen=True)
class Added:
    """The trials of cells added after creation, by state (removed ones left out)."""

    waiting: tuple[int, ...]  # trial ids
    training: tuple[int, ...]
    finished: tuple[int, ...]  # COMPLETE

    @property
    def total(self) -> int:
        return len(self.waiting) + len(self.training) + len(self.finished)


def added_cells(study: StoredStudy) -> Added:
    """The trials of a grid study whose cell is not in its spec's grid."""
    grid = {L.key_of(c) for c in study.mode.cells()}
    by_state: dict[str, list[int]] = {"WAITING": [], "RUNNING": [], "COMPLETE": []}
    for r in study.cell_trials():
        # FAIL is left out: an attempt whose cell was re-enqueued (or removed).
        if r.state in by_state and r.user_attrs[L.CELL] not in grid:
            by_state[r.state].append(r.trial_id)
    return Added(*(tuple(ids) for ids in by_state.values()))


def remove_added(study: StoredStudy, *, finished: bool) -> int:
    """Take the added cells out of ``study`` (opened for writing): the waiting ones, and the
    finished ones too when ``finished`` (the user confirmed losing their results). Returns
    how many."""
    storage, spec, rdb = study.storage, study.need_spec(), rdb_of(study.storage)
    added = added_cells(study)
    if finished and added.finished and rdb is None:
        # Refused before anything changes: a half-done removal would leave the study's
        # cell count wrong.
        raise StorageError("storage", "removing finished cells needs an SQLite or PostgreSQL "
                           "storage; this one is a journal file")
    removed = 0
    for trial_id in added.waiting:
        try:
            if not storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                continue  # a worker claimed it first: it is in training now
            storage.set_trial_user_attr(trial_id, L.REMOVED, True)
            storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
            removed += 1
        except UpdateFinishedTrialError:
            continue
    if finished and added.finished:
        removed += _fail_finished(rdb, list(added.finished))
    if removed:
        study.refresh()
        total = study.mode.total(study.attrs) - removed
        storage.set_study_user_attr(study.study_id, L.CELLS_TOTAL, max(spec.n_cells, total))
    return removed


def _fail_finished(rdb: RDBStorage, trial_ids: list[int]) -> int:
    """Finished trials to FAIL with ``removed=True``, in one transaction of the storage's
    tables (Optuna's API refuses to change a finished trial)."""
    from optuna.storages._rdb import models
    from sqlalchemy import insert, update

    trials_t = models.TrialModel.__table__
    user_t = models.TrialUserAttributeModel.__table__
    with rdb.engine.begin() as connection:
        done = connection.execute(
            update(trials_t).where(trials_t.c.trial_id.in_(trial_ids),
                                   trials_t.c.state == TrialState.COMPLETE)
            .values(state=TrialState.FAIL).returning(trials_t.c.trial_id)).scalars().all()
        if done:
            connection.execute(insert(user_t), [
                {"trial_id": t, "key": L.REMOVED, "value_json": json.dumps(True)} for t in done])
    return len(done)
