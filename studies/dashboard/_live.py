"""Watching a study from the storage: its progress, a cheap signature for caches, the latest
validation errors of running cells, and what a Cancel would cost.

The storage is the only channel between a running study and the dashboard (DESIGN.md), so
everything here is read from it: a study started on another machine shows the same way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from studies.eta import format_duration
from studies.storage import Progress, StoredStudy, TrialRecord

#: A running trial flushes its curves this often (studies.runner.CURVES_FLUSH_S); cached
#: tables of a running study are refreshed at least this often.
RUNNING_REFRESH_S = 10.0


def study_progress(url: str, study: str) -> Progress:
    """Progress of ``study`` (:meth:`StoredStudy.progress`); raises the storage's errors
    (StudyNotFoundError, StorageError)."""
    return StoredStudy.open(url, study).progress()


def running_count(url: str, study: str) -> int:
    """Trials of ``study`` running now: one small query (:func:`study_progress` also reads
    the running trials' reports)."""
    return StoredStudy.open(url, study).counts().get("RUNNING", 0)


def signature(url: str, study: str, *, now: float | None = None) -> tuple[object, ...]:
    """A cheap key that changes whenever the study's tables may have changed: its trial
    counts per state, plus a clock bucket of :data:`RUNNING_REFRESH_S` while trials run (their
    curves grow without a state change). One small query."""
    return counts_signature(StoredStudy.open(url, study).counts(), now=now)


def counts_signature(counts: dict[str, int], *, now: float | None = None
                     ) -> tuple[object, ...]:
    """:func:`signature` from trial counts already read."""
    key: tuple[object, ...] = tuple(sorted(counts.items()))
    if counts.get("RUNNING"):
        now = time.time() if now is None else now
        key += (math.floor(now / RUNNING_REFRESH_S),)
    return key


#: Column of :func:`provisional_trials`: each cell's validation error at its latest epoch.
LIVE_METRIC = "val_error_latest"


def _latest(running: Sequence[TrialRecord]) -> dict[int, tuple[int, float]]:
    """Trial number → (epoch, validation error) of every running trial that reported one."""
    out = {}
    for r in running:
        finite = {k: v for k, v in r.intermediate.items() if math.isfinite(v)}
        if finite:
            epoch = max(finite)
            out[r.number] = (int(epoch), float(finite[epoch]))
    return out


@dataclass(frozen=True)
class LiveView:
    """One poll of a live page."""

    signature: tuple[object, ...]  # :func:`signature`
    progress: Progress  # :func:`study_progress`
    latest: dict[int, tuple[int, float]]  # running trial → (epoch, its latest val error)


def live_view(url: str, study: str) -> LiveView:
    """:class:`LiveView` with the study opened once, its trials counted once and its running
    trials (with their reports) read once: light enough for every poll of a live page."""
    stored = StoredStudy.open(url, study)
    counts = stored.counts()
    running = stored.running() if counts.get("RUNNING") else []
    return LiveView(counts_signature(counts),
                    stored.progress(counts, inflight=stored.inflight(running)), _latest(running))


def provisional_trials(trials: pd.DataFrame, latest: dict[int, tuple[int, float]]
                       ) -> pd.DataFrame:
    """The trials table for a landscape of a *running* study: column :data:`LIVE_METRIC` is
    the final validation error of finished trials and the latest reported one of running
    trials, which count as results here. A population trains all its cells together and
    they all finish at the end; this view fills in epoch by epoch instead."""
    out = trials.copy()
    live = out["state"].astype(str).eq("RUNNING") & out["trial"].isin(list(latest))
    reported = out["trial"].map({number: error for number, (_, error) in latest.items()})
    out[LIVE_METRIC] = out["final_val_error"].astype(float).mask(live, reported)
    out["state"] = out["state"].astype(str).mask(live, "COMPLETE")
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
    stored = StoredStudy.open(url, study)
    running = stored.running()
    reached = max((max(r.intermediate) for r in running if r.intermediate), default=0)
    starts = [r.datetime_start.timestamp() for r in running if r.datetime_start is not None]
    now = time.time() if now is None else now
    seconds = max(0.0, now - min(starts)) if starts else None  # read_trials gives aware UTC
    return CancelCost(done=stored.progress(inflight=0.0).done, training=len(running),
                      epochs_done=int(reached), seconds=seconds,
                      epochs=stored.spec.epochs if stored.spec is not None else 0)


def cancel_text(cost: CancelCost) -> str:
    """What Cancel keeps and discards, in numbers, for the confirmation the user reads."""
    kept = f"the {cost.done} finished cell{'s' if cost.done != 1 else ''}"
    if not cost.training:
        return f"Cancelling now keeps {kept}; no cell is in training, so nothing is lost."
    spent = f", about {format_duration(cost.seconds)} of training" if cost.seconds else ""
    return (f"Cancelling now keeps {kept} and discards the {cost.training} cell"
            f"{'s' if cost.training != 1 else ''} in training: {cost.epochs_done} of "
            f"{cost.epochs} epochs each{spent}. A population keeps no checkpoint, so Resume "
            "trains them again from epoch 1.")
