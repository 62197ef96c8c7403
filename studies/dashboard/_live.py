"""Watching a study from the storage: its progress, ETA, and a cheap signature for caches.

The storage is the only channel between a running study and the dashboard (DESIGN.md), so
everything here is read from it: a study started on another machine shows the same way.
Progress counts finished cells plus the finished fraction of the running ones, from the
validation errors each running trial reports after every epoch, so the bar moves while a
population trains (all its cells finish together at the end).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pandas as pd

from studies.eta import format_duration
from studies.storage import _layout as L
from studies.storage import count_states, read_trials, require_study

#: A running trial flushes its curves this often (studies.runner.CURVES_FLUSH_S); cached
#: tables of a running study are refreshed at least this often.
RUNNING_REFRESH_S = 10.0


@dataclass(frozen=True)
class StudyProgress:
    """Where a study stands, read from the storage."""

    mode: str  # "grid" or "tune"
    done: int  # finished cells (grid: COMPLETE; tune: COMPLETE + PRUNED)
    total: int  # cells of the study (tune: the trial budget)
    running: int
    waiting: int
    failed: int
    pruned: int
    partial: float  # done + the finished fraction of running trials' epochs

    @property
    def fraction(self) -> float:
        return min(1.0, self.partial / self.total) if self.total else 1.0

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.done >= self.total and not self.running


def study_progress(url: str, study: str) -> StudyProgress:
    """Progress of ``study``; raises the storage's errors (StudyNotFoundError, StorageError)."""
    storage, study_id = require_study(url, study)
    attrs = storage.get_study_user_attrs(study_id)
    spec = attrs.get(L.SPEC) if isinstance(attrs.get(L.SPEC), dict) else {}
    mode = str(attrs.get(L.MODE) or spec.get("mode") or "grid")
    counts = count_states(storage, study_id)
    if mode == "tune":
        done = counts["COMPLETE"] + counts["PRUNED"]
        total = int(attrs.get(L.N_TRIALS) or (spec.get("tune") or {}).get("n_trials") or 0)
    else:
        done = counts["COMPLETE"]
        total = int(attrs.get(L.CELLS_TOTAL) or sum(counts.values()))
    epochs = spec.get("epochs")
    partial = float(done)
    if counts["RUNNING"] and isinstance(epochs, int) and epochs > 0:
        running = read_trials(storage, study_id, states=("RUNNING",),
                              intermediate_when=("RUNNING",))
        partial += sum(min(len(r.intermediate), epochs) / epochs for r in running)
    return StudyProgress(
        mode=mode,
        done=done,
        total=total,
        running=counts["RUNNING"],
        waiting=counts["WAITING"],
        failed=counts["FAIL"],
        pruned=counts["PRUNED"],
        partial=min(partial, float(total)) if total else partial,
    )


def signature(url: str, study: str, *, now: float | None = None) -> tuple[object, ...]:
    """A cheap key that changes whenever the study's tables may have changed: its trial
    counts per state, plus a clock bucket of :data:`RUNNING_REFRESH_S` while trials run (their
    curves grow without a state change). One small query."""
    storage, study_id = require_study(url, study)
    counts = count_states(storage, study_id)
    key: tuple[object, ...] = tuple(sorted(counts.items()))
    if counts.get("RUNNING"):
        now = time.time() if now is None else now
        key += (math.floor(now / RUNNING_REFRESH_S),)
    return key


def format_eta(seconds: float | None) -> str:
    """``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``; ``"—"`` when unknown (the one
    formatter: :func:`studies.eta.format_duration`)."""
    return format_duration(seconds)


#: Column of :func:`provisional_trials`: each cell's validation error at its latest epoch.
LIVE_METRIC = "val_error_latest"


def latest_validation(url: str, study: str) -> dict[int, tuple[int, float]]:
    """Trial number → (epoch, validation error) of every RUNNING trial that reported one.

    Reads only the running trials and their reports (one small query), so it can run on
    every poll of a live page.
    """
    storage, study_id = require_study(url, study)
    out = {}
    for r in read_trials(storage, study_id, states=("RUNNING",), intermediate_when=("RUNNING",)):
        finite = {k: v for k, v in r.intermediate.items() if math.isfinite(v)}
        if finite:
            epoch = max(finite)
            out[r.number] = (int(epoch), float(finite[epoch]))
    return out


def provisional_trials(trials: pd.DataFrame, latest: dict[int, tuple[int, float]]
                       ) -> pd.DataFrame:
    """The trials table for a landscape of a *running* study: column :data:`LIVE_METRIC` is
    the final validation error of finished trials and the latest reported one of running
    trials, which count as results here. A population trains all its cells together and
    they all finish at the end; this view fills in epoch by epoch instead."""
    out = trials.copy()
    values = out["final_val_error"].astype(float).to_numpy(copy=True)
    states = out["state"].astype(str).to_numpy(copy=True)
    for k, number in enumerate(out["trial"].to_numpy()):
        if states[k] == "RUNNING" and int(number) in latest:
            values[k] = latest[int(number)][1]
            states[k] = "COMPLETE"
    out[LIVE_METRIC] = values
    out["state"] = states
    return out


@dataclass(frozen=True)
class CancelCost:
    """What cancelling a study now would keep and discard: finished cells stay; cells in
    training are handed back and restart from epoch 1 on Resume (a population keeps no
    checkpoint), so their epochs so far are lost."""

    done: int  # finished cells, kept
    training: int  # cells in training, discarded
    epochs_done: int  # epochs the furthest of them has finished
    epochs: int  # epochs of a cell
    seconds: float | None  # training time spent on them so far (since the oldest started)


def cancel_cost(url: str, study: str, *, now: float | None = None) -> CancelCost:
    """:class:`CancelCost` of ``study``, read from the storage."""

    storage, study_id = require_study(url, study)
    spec = storage.get_study_user_attrs(study_id).get(L.SPEC) or {}
    epochs = int(spec.get("epochs") or 0) if isinstance(spec, dict) else 0
    counts = count_states(storage, study_id)
    running = read_trials(storage, study_id, states=("RUNNING",), intermediate_when=("RUNNING",))
    reached = max((max(r.intermediate) for r in running if r.intermediate), default=0)
    starts = [r.datetime_start for r in running if r.datetime_start is not None]
    seconds = None
    if starts:
        now = time.time() if now is None else now
        seconds = max(0.0, now - min(starts).timestamp())  # read_trials gives aware UTC
    return CancelCost(done=counts["COMPLETE"], training=len(running), epochs_done=int(reached),
                      epochs=epochs, seconds=seconds)


def cancel_text(cost: CancelCost) -> str:
    """What Cancel keeps and discards, in numbers, for the confirmation the user reads."""
    kept = f"the {cost.done} finished cell{'s' if cost.done != 1 else ''}"
    if not cost.training:
        return f"Cancelling now keeps {kept}; no cell is in training, so nothing is lost."
    spent = f", about {format_duration(cost.seconds)} of training" if cost.seconds else ""
    return (
        f"Cancelling now keeps {kept} and discards the {cost.training} cell"
        f"{'s' if cost.training != 1 else ''} in training: {cost.epochs_done} of "
        f"{cost.epochs} epochs each{spent}. A population keeps no checkpoint, so Resume "
        "trains them again from epoch 1."
    )
