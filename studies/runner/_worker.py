"""A worker: take waiting cells (or ask the sampler), train them as populations, store results.

Any number of workers, on any number of machines, can work one study:

* **Taking cells (grid).** A worker reads the WAITING trials, picks those compatible with the
  first one (same schedule, same optimizer family: adam/adamw or sgd/sgdw; seeds may differ),
  and claims up to ``max_members`` of them one by one with Optuna's
  ``set_trial_state_values(RUNNING)``, which succeeds for exactly one worker (a row lock on
  PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite, see :mod:`studies.storage._open`). A cell lost
  to another worker is simply skipped.
* **Heartbeats.** On RDB storages a heartbeat is recorded for a trial *before* claiming it (so
  a worker killed right after the claim still leaves a trial that goes stale) and then every
  ``heartbeat_interval`` seconds from a background thread while the worker holds it. Before
  taking work, every worker runs :func:`optuna.storages.fail_stale_trials`: a trial whose
  heartbeat is older than the grace period is set to FAIL and its cell re-enqueued. A worker
  that finds nothing waiting keeps polling while other workers' trials are RUNNING, so the
  re-enqueued cell of a killed worker is picked up.
* **Training.** Cells become :class:`core.train.TrainConfig` s (weight decay converted to the
  paper's λ, see ``_convert``) trained at once by :func:`core.train.train_population`. After
  every epoch each member's validation error goes to ``trial.report(step=epoch)`` (tune mode
  then asks ``trial.should_prune()``); running curves are flushed to the ``curves`` user
  attribute every :data:`CURVES_FLUSH_S` seconds for live plots.
* **Results.** The curves and metrics go to user attributes, then ``tell``: COMPLETE with the
  final test error (grid) or final validation error (tune); a diverged member is COMPLETE
  with value 1.0 and ``diverged=True`` (never FAIL); a pruned one PRUNED.
* **Stopping.** ``stop`` (a :class:`threading.Event`) is checked after every epoch and between
  populations. Unfinished trials are set to FAIL with ``interrupted=True`` and their cells
  re-enqueued, so running the study again continues where it stopped; finished cells are
  kept. A population that raises: its trials FAIL with the error, their cells are re-enqueued
  (at most ``MAX_RETRY`` times), and the exception propagates; cells finished before stay.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from core.train import EpochMetrics, RunResult, resolve_device, train_population
from studies.eta import EtaEstimator
from studies.runner._convert import core_model, family, train_config
from studies.runner._data import load_data
from studies.spec import Cell, SpecError, StudySpec
from studies.storage import (
    MAX_RETRY,
    Progress,
    StoredStudy,
    StudyDeletedError,
    TrialRecord,
    TuneMode,
    requeue,
    study_id_of,
)
from studies.storage import layout as L

log = logging.getLogger("studies.runner")

DEFAULT_MAX_MEMBERS = 128  # cells claimed per population (core chunks them to fit memory)
CURVES_FLUSH_S = 10.0  # how often running curves are written for live plots
IDLE_POLL_S = 2.0  # how often an idle worker looks for re-enqueued cells


@dataclass
class WorkerSummary:
    """What one :func:`run_worker` call did."""

    study: str
    completed: int = 0  # trials this worker told COMPLETE (diverged included)
    diverged: int = 0  # of which diverged
    pruned: int = 0  # trials told PRUNED (tune)
    failed: int = 0  # trials that crashed (FAIL, cell re-enqueued)
    interrupted: int = 0  # trials handed back unfinished because of ``stop``
    lost: int = 0  # trials another worker declared stale while this one trained them
    populations: int = 0  # populations trained
    elapsed_s: float = 0.0
    stopped: bool = False  # ``stop`` ended the run before the study ran out of cells
    cells_done: int = 0  # study-wide at the end
    cells_total: int = 0


@dataclass
class _Member:
    """A claimed trial: its cell, and the epochs it trained so far."""

    trial_id: int
    number: int
    cell: Cell
    trial: optuna.Trial | None = None  # tune mode: for report / should_prune
    history: list[EpochMetrics] = field(default_factory=list)


class _Heartbeat:
    """Records heartbeats of the trials this worker holds, every ``interval`` seconds."""

    def __init__(self, storage: Any, interval: int | None) -> None:
        self.storage, self.interval, self.enabled = storage, interval, interval is not None
        self.ids: set[int] = set()
        self.lock, self.done = threading.Lock(), threading.Event()
        self.thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        if self.enabled:
            self.thread.start()

    def beat(self, trial_id: int) -> None:
        if self.enabled:
            self.storage.record_heartbeat(trial_id)

    def hold(self, trial_id: int) -> None:
        with self.lock:
            self.ids.add(trial_id)

    def release(self, trial_id: int) -> None:
        with self.lock:
            self.ids.discard(trial_id)

    def _run(self) -> None:
        assert self.interval is not None
        while not self.done.wait(self.interval):
            with self.lock:
                ids = sorted(self.ids)
            for trial_id in ids:
                try:
                    self.storage.record_heartbeat(trial_id)
                except Exception as error:  # a blip must not kill the thread; grace covers it
                    log.warning("heartbeat of trial id %s failed: %s", trial_id, error)

    def close(self) -> None:
        self.done.set()
        if self.enabled:
            self.thread.join(timeout=30)


class _Tracker:
    """Study-wide progress, and the ETA from the throughput measured since the worker
    started (:mod:`studies.eta`: the start-up before the first finished epoch never counts)."""

    def __init__(self, study: StoredStudy, callback: Callable[[Progress], None] | None,
                 counts: Mapping[str, int]) -> None:
        self.study, self.callback = study, callback
        self.inflight = 0.0  # finished fraction of this worker's current population, in cells
        self.estimator = EtaEstimator()
        self.last = study.progress(counts, inflight=0.0)

    def refresh(self, counts: Mapping[str, int] | None = None) -> None:
        """Progress read again (``counts``: trials per state, if just read)."""
        self.study.refresh()  # the total grows with extensions and add_trials
        self.last = self.study.progress(counts, inflight=0.0)

    def report(self, message: str) -> Progress:
        p = self.last.advanced(self.inflight, message=message)
        self.estimator.add(time.perf_counter(), p.partial)
        p = dataclasses.replace(p, eta_seconds=self.estimator.seconds(p.total))
        if self.callback is not None:
            self.callback(p)
        return p


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_worker(*, storage: str, study_name: str, device: str | None = None,
               progress: Callable[[Progress], None] | None = None,
               stop: threading.Event | None = None, max_members: int | None = None,
               data_dir: str | Path | None = None) -> WorkerSummary:
    """Work study ``study_name`` until no cell is left (or ``stop`` is set); see the module
    docstring for how cells are taken, trained, stored and handed back.

    ``device``: "auto", "cpu", "cuda", "mps" (default: the spec's). ``max_members``: most
    cells per population (default :data:`DEFAULT_MAX_MEMBERS`; core still splits a
    population into chunks that fit in memory). ``progress`` is called after every epoch and
    every population. Raises :class:`StudyNotFoundError`, :class:`StorageError`,
    :class:`SpecError` (bad device, data that no longer matches the study) or
    :class:`core.data.DatasetUnavailableError` before any trial is taken.
    """
    started = time.perf_counter()
    stop = stop or threading.Event()
    if max_members is not None and (isinstance(max_members, bool) or max_members < 1):
        raise SpecError("max_members", f"must be an integer >= 1, got {max_members!r}")
    stored = StoredStudy.open(storage, study_name, read_only=False)
    spec, st = stored.need_spec(), stored.storage
    try:
        dev = resolve_device(device or spec.device)
    except ValueError as error:
        raise SpecError("device", str(error)) from None
    data = load_data(spec, data_dir=data_dir)
    if stored.train_size is not None and stored.train_size != data.train_size:
        raise SpecError("data", f"this machine's {spec.data.dataset} gives {data.train_size} "
                        f"training points but study {study_name!r} was created with "
                        f"{stored.train_size}; use the same data files")
    data = data.to(dev)
    with warnings.catch_warnings():
        # Optuna flags heartbeats, fail_stale_trials and ask() under heartbeats as experimental.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
        counts = stored.counts()
        tracker = _Tracker(stored, progress, counts)
        study = stored.optuna_study(sampler=stored.mode.sampler(sum(counts.values())),
                                    pruner=stored.mode.pruner())
        summary = WorkerSummary(study=study_name)
        hb = _Heartbeat(st, getattr(st, "get_heartbeat_interval", lambda: None)())
        job = _Job(stored=stored, spec=spec, study=study, data=data, device=dev, heartbeat=hb,
                   tracker=tracker, stop=stop, summary=summary,
                   limit=max_members or DEFAULT_MAX_MEMBERS)
        log.info("worker %s on study %s (%s, device %s): cells %d/%d done", _worker_id(),
                 study_name, stored.mode.name, dev, tracker.last.done, tracker.last.total)
        tracker.report("starting")
        try:
            job.loop()
            tracker.refresh()
        except Exception as error:
            _raise_if_deleted(st, study_name, stored.study_id, error)
            raise
        finally:
            hb.close()
        summary.cells_done, summary.cells_total = tracker.last.done, tracker.last.total
        summary.elapsed_s = time.perf_counter() - started
        summary.stopped = stop.is_set()
        tracker.report("stopped" if summary.stopped else "finished")
        log.info("worker %s %s: %d completed (%d diverged), %d pruned, %d failed, %d handed "
                 "back in %.1f s; cells %d/%d done", _worker_id(),
                 "stopped" if summary.stopped else "finished", summary.completed,
                 summary.diverged, summary.pruned, summary.failed, summary.interrupted,
                 summary.elapsed_s, summary.cells_done, summary.cells_total)
        return summary


def _raise_if_deleted(st: Any, name: str, study_id: int, error: Exception) -> None:
    """A study deleted while this worker trains it fails whichever write comes next (Optuna:
    ``KeyError('Record does not exist.')``); say that instead, as :class:`StudyDeletedError`."""
    try:
        gone = study_id_of(st, name) != study_id
    except Exception:  # the storage itself is failing: the original error says more
        return
    if gone:
        raise StudyDeletedError(name) from error


@dataclass
class _Job:
    stored: StoredStudy
    spec: StudySpec
    study: optuna.Study
    data: Any
    device: Any
    heartbeat: _Heartbeat
    tracker: _Tracker
    stop: threading.Event
    summary: WorkerSummary
    limit: int

    @property
    def storage(self) -> Any:
        return self.stored.storage

    # --- the loop ------------------------------------------------------------------------
    def loop(self) -> None:
        tune = isinstance(self.stored.mode, TuneMode)
        while not self.stop.is_set():
            optuna.storages.fail_stale_trials(self.study)
            members = self._take_tune() if tune else self._take_grid()
            if not members:
                if counts := self._others_running():
                    self.tracker.refresh(counts)
                    self.tracker.report("waiting for other workers' cells")
                    self.stop.wait(min(self.heartbeat.interval or IDLE_POLL_S, IDLE_POLL_S * 2.5))
                    continue
                return
            groups: dict[tuple[str, str], list[_Member]] = {}
            for m in members:
                groups.setdefault(_group(m.cell), []).append(m)
            pending = list(groups.values())
            try:
                while pending and not self.stop.is_set():
                    self._train(pending.pop(0))  # a population that raises handles its cells
            finally:
                # Stopped, or a population raised: hand back what was claimed and not trained.
                for population in pending:
                    for m in population:
                        self._hand_back(m)

    def _others_running(self) -> dict[str, int] | None:
        """The trial counts, when there are trials of other workers to wait for (RUNNING, or
        WAITING ones another worker is about to take); else None. Only heartbeats can turn a
        dead worker's RUNNING trial into a re-enqueued cell, so without them there is
        nothing to wait for."""
        counts = self.stored.counts() if self.heartbeat.enabled else {}
        return counts if counts.get("RUNNING", 0) + counts.get("WAITING", 0) > 0 else None

    # --- taking work ----------------------------------------------------------------------
    def _take_grid(self) -> list[_Member]:
        usable = []
        for r in self.stored.trials(states=("WAITING",), attr_keys=()):
            # Not a cell of ours (a foreign enqueue): fail it once, visibly.
            if (cell := L.cell_of(r.params, self.spec.convention)) is None:
                self._fail_foreign(r)
            else:
                usable.append((r, cell))
        members: list[_Member] = []
        for record, cell in usable:
            if len(members) >= self.limit or self.stop.is_set():
                break
            if _group(cell) != _group(usable[0][1]):
                continue
            self.heartbeat.beat(record.trial_id)  # before the claim: see the module docstring
            try:
                if not self.storage.set_trial_state_values(record.trial_id,
                                                           state=TrialState.RUNNING):
                    continue
            except UpdateFinishedTrialError:
                continue
            self.heartbeat.hold(record.trial_id)
            members.append(_Member(trial_id=record.trial_id, number=record.number, cell=cell))
        return members

    def _fail_foreign(self, record: TrialRecord) -> None:
        with contextlib.suppress(UpdateFinishedTrialError):
            if self.storage.set_trial_state_values(record.trial_id, state=TrialState.RUNNING):
                self.storage.set_trial_user_attr(record.trial_id, L.ERROR,
                                                 "not a cell of this study (params missing)")
                self.storage.set_trial_state_values(record.trial_id, state=TrialState.FAIL)

    def _take_tune(self) -> list[_Member]:
        mode = self.stored.mode
        assert isinstance(mode, TuneMode)
        self.stored.refresh()  # the budget grows with add_trials
        counts = self.stored.counts()
        # Re-enqueued trials (WAITING) are popped by ask() first: they use no more budget.
        used = sum(counts[s] for s in ("COMPLETE", "PRUNED", "RUNNING"))
        n = min(mode.tune.trials_per_batch, mode.total(self.stored.attrs) - used)
        members = []
        for _ in range(max(0, n)):
            trial = self.study.ask()
            self.heartbeat.beat(trial._trial_id)
            self.heartbeat.hold(trial._trial_id)
            members.append(_Member(trial_id=trial._trial_id, number=trial.number,
                                   cell=mode.suggest(trial), trial=trial))
        return members

    # --- training -------------------------------------------------------------------------
    def _train(self, members: list[_Member]) -> None:
        spec, st = self.spec, self.storage
        configs, ok = [], []
        for m in members:
            try:
                configs.append(train_config(spec, m.cell))
                ok.append(m)
            except (ValueError, KeyError) as error:  # a cell core refuses: visible, not retried
                self._fail(m, f"invalid cell: {error}", retry=False)
        if not (members := ok):
            return
        label = (f"{'/'.join(sorted({m.cell.optimizer for m in members}))} · "
                 f"{members[0].cell.schedule}")
        n, pruned, interrupted = len(members), set[int](), set[int]()
        last_flush = start = time.perf_counter()

        def callback(epoch: int, running: dict[int, EpochMetrics]) -> list[int]:
            nonlocal last_flush
            stop_now: list[int] = []
            # Writes in this thread: a background writer measured slower (GIL contention with
            # the training loop's own Python work and PyTorch's spinning threads). A trial
            # declared stale by another worker raises; its result is dropped at the end.
            for i, metrics in running.items():
                m = members[i]
                m.history.append(metrics)
                if m.trial is not None:  # tune: the pruner needs the report now
                    m.trial.report(metrics.val_error, step=epoch)
                    if m.trial.should_prune():
                        pruned.add(i)
                        stop_now.append(i)
                else:  # trial.report(), at the storage level
                    with contextlib.suppress(UpdateFinishedTrialError):
                        st.set_trial_intermediate_value(m.trial_id, epoch, metrics.val_error)
            if time.perf_counter() - last_flush >= CURVES_FLUSH_S:
                for i in running:
                    with contextlib.suppress(UpdateFinishedTrialError):
                        st.set_trial_user_attr(members[i].trial_id, L.CURVES,
                                               _curves(members[i].history))
                last_flush = time.perf_counter()
            if self.stop.is_set() and epoch < spec.epochs:
                interrupted.update(i for i in running if i not in pruned)
                stop_now = list(running)
            self.tracker.inflight = n * epoch / spec.epochs
            self.tracker.report(f"{label}: {n} cells, epoch {epoch}/{spec.epochs}")
            return stop_now

        self.tracker.report(f"{label}: {n} cells starting")
        try:
            results = train_population(configs, model=core_model(spec), data=self.data,
                                       device=self.device, callback=callback)
        except Exception as error:
            for m in members:
                self._fail(m, f"{type(error).__name__}: {error}", retry=True)
            raise
        except BaseException:  # KeyboardInterrupt, SystemExit: hand the cells back as is
            for m in members:
                self._hand_back(m)
            raise
        finally:
            self.tracker.inflight = 0.0
        for i, (m, result) in enumerate(zip(members, results, strict=True)):
            if i in interrupted:
                self._hand_back(m)
            else:
                self._finish(m, result, pruned=i in pruned)
        self.summary.populations += 1
        self.tracker.refresh()
        p = self.tracker.report(f"{label}: {n} cells done")
        log.info("population done: %d cells (%s) in %.1f s; cells %d/%d done, %d running, "
                 "ETA %s", n, label, time.perf_counter() - start, p.done, p.total, p.running,
                 p.eta_text)

    # --- results --------------------------------------------------------------------------
    def _finish(self, m: _Member, result: RunResult, *, pruned: bool) -> None:
        st, history = self.storage, result.history
        if result.diverged:
            state, value = TrialState.COMPLETE, 1.0
        elif pruned:
            state, value = TrialState.PRUNED, math.nan
        elif history:
            state, value = TrialState.COMPLETE, getattr(history[-1], self.stored.mode.objective)
        else:
            self._fail(m, "no epoch finished", retry=True)
            return
        try:
            st.set_trial_user_attr(m.trial_id, L.CURVES, _curves(history))
            st.set_trial_user_attr(m.trial_id, L.METRICS, _metrics(result, self.data.train_size))
            st.set_trial_user_attr(m.trial_id, L.DIVERGED, result.diverged)
            st.set_trial_user_attr(m.trial_id, L.DIVERGED_EPOCH, result.diverged_epoch)
            if m.trial is None:
                # Grid cell: what tell() ends with, minus re-reading the trial for a sampler
                # that has nothing to learn (cells carry their params).
                st.set_trial_state_values(m.trial_id, state, [value])
            elif state == TrialState.PRUNED:
                self.study.tell(m.trial, state=TrialState.PRUNED)
            else:
                self.study.tell(m.trial, value)
        except UpdateFinishedTrialError:
            self._lost(m)
            return
        finally:
            self.heartbeat.release(m.trial_id)
        if state == TrialState.PRUNED:
            self.summary.pruned += 1
        else:
            self.summary.completed += 1
            self.summary.diverged += int(result.diverged)

    def _lost(self, m: _Member) -> None:
        log.warning("trial %d was declared stale by another worker; its result is dropped "
                    "(the cell was re-enqueued)", m.number)
        self.summary.lost += 1

    def _mark_failed(self, m: _Member, key: str, value: Any) -> bool:
        """Set ``key`` and FAIL the trial; False if another worker already ended it."""
        try:
            self.storage.set_trial_user_attr(m.trial_id, key, value)
            self.storage.set_trial_state_values(m.trial_id, state=TrialState.FAIL)
        except UpdateFinishedTrialError:
            self._lost(m)
            return False
        finally:
            self.heartbeat.release(m.trial_id)
        return True

    def _fail(self, m: _Member, reason: str, *, retry: bool) -> None:
        if self._mark_failed(m, L.ERROR, reason[:500]):
            self.summary.failed += 1
            log.error("trial %d failed: %s", m.number, reason)
            if retry:
                requeue(self.study, self.storage.get_trial(m.trial_id), max_retry=MAX_RETRY)

    def _hand_back(self, m: _Member) -> None:
        if self._mark_failed(m, L.INTERRUPTED, True):
            self.summary.interrupted += 1
            if not isinstance(self.stored.mode, TuneMode):  # tune: the sampler asks anew
                requeue(self.study, self.storage.get_trial(m.trial_id), max_retry=None)


def _group(cell: Cell) -> tuple[str, str]:
    """Cells that can share a population: one optimizer family, one schedule."""
    return family(cell.optimizer), cell.schedule


def _curves(history: Sequence[EpochMetrics]) -> dict[str, list[float]]:
    return {name: [float(getattr(m, name)) for m in history]
            for name in ("epoch", *L.CURVE_SERIES)}


def _metrics(result: RunResult, train_size: int) -> dict[str, Any]:
    history = result.history
    final = history[-1] if history and not result.diverged else None
    return {
        "final_test_error": final.test_error if final else None,
        "best_test_error": min((m.test_error for m in history), default=None),
        "final_val_error": final.val_error if final else None,
        "best_val_error": min((m.val_error for m in history), default=None),
        "final_train_loss": final.train_loss if final else None,
        "final_weight_norm": final.weight_norm if final else None,
        "epochs_done": len(history),
        "duration_s": result.duration_s,
        "train_size": train_size,
        "worker": _worker_id()}
