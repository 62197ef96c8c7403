"""Watching a study from the storage: its progress, ETA, and a cheap signature for caches.

The storage is the only channel between a running study and the dashboard (DESIGN.md), so
everything here is read from it: a study started on another machine shows the same way.
Progress counts finished cells plus the finished fraction of the running ones, from the
validation errors each running trial reports after every epoch, so the bar moves while a
population trains (all its cells finish together at the end).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import pandas as pd

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

    def eta_seconds(self, *, since: float, partial_then: float, now: float | None = None
                    ) -> float | None:
        """Seconds left at the throughput measured since ``since`` (when ``partial_then``
        cells were done); None until there is a rate to measure."""
        now = time.time() if now is None else now
        remaining = max(0.0, self.total - self.partial)
        if remaining == 0:
            return 0.0
        gained, elapsed = self.partial - partial_then, now - since
        if gained <= 0 or elapsed <= 0:
            return None
        return remaining * elapsed / gained


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
    """``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``; ``"—"`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


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


@dataclass
class EtaWindow:
    """Throughput over the last ``window_s`` seconds of polls, for an ETA that forgets the
    start-up (process launch, data loading) once training is under way."""

    window_s: float = 30.0
    samples: list[tuple[float, float]] = dataclasses.field(default_factory=list)

    def add(self, now: float, partial: float) -> None:
        if self.samples and partial < self.samples[-1][1]:
            self.samples.clear()  # cells were added or handed back: start over
        self.samples.append((now, partial))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window_s:
            self.samples.pop(0)

    def eta_seconds(self, progress: StudyProgress) -> float | None:
        """Seconds left at the recent rate; None until two polls show progress."""
        if len(self.samples) < 2:
            return None
        (t0, p0), (t1, _) = self.samples[0], self.samples[-1]
        return progress.eta_seconds(since=t0, partial_then=p0, now=t1)
