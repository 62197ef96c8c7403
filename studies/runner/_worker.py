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
import logging
import math
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from core.train import EpochMetrics, RunResult, resolve_device, train_population
from studies.eta import EtaEstimator, format_duration
from studies.runner._convert import core_model, family, train_config
from studies.runner._data import load_data
from studies.spec import SpecError, StudySpec, spec_from_dict
from studies.storage import (
    MAX_RETRY,
    StorageError,
    StudyDeletedError,
    count_states,
    read_trials,
    requeue,
    require_study,
)
from studies.storage import _layout as L
from studies.storage._read import TrialRecord, study_id_of

log = logging.getLogger("studies.runner")

DEFAULT_MAX_MEMBERS = 128  # cells claimed per population (core chunks them to fit memory)
CURVES_FLUSH_S = 10.0  # how often running curves are written for live plots
IDLE_POLL_S = 2.0  # how often an idle worker looks for re-enqueued cells


@dataclass(frozen=True)
class Progress:
    """Where a study stands, as a worker sees it (for progress bars and the dashboard)."""

    cells_done: int  # finished cells of the study, all workers (tune: COMPLETE + PRUNED)
    cells_total: int  # cells of the study (tune: the trial budget)
    running: int  # RUNNING trials of the study at the last count, all workers
    eta_seconds: float | None  # remaining time at the measured throughput; None if unknown
    message: str  # what this worker is doing, one line
    partial: float = 0.0  # cells_done plus the finished fraction of this worker's population

    @property
    def fraction(self) -> float:
        """``partial / cells_total`` in [0, 1]."""
        return min(1.0, self.partial / self.cells_total) if self.cells_total else 1.0


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
    trial_id: int
    number: int
    optimizer: str
    lr: float
    weight_decay: float
    seed: int
    schedule: str
    trial: optuna.Trial | None = None  # tune mode: for report / should_prune
    history: list[EpochMetrics] = field(default_factory=list)


class _Heartbeat:
    """Records heartbeats of the trials this worker holds, every ``interval`` seconds."""

    def __init__(self, storage: Any, interval: int | None) -> None:
        self.storage = storage
        self.interval = interval
        self.ids: set[int] = set()
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None
        if interval is not None:
            self.thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
            self.thread.start()

    @property
    def enabled(self) -> bool:
        return self.interval is not None

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
        if self.thread is not None:
            self.thread.join(timeout=30)


class _Tracker:
    """Study-wide counts and the ETA from the throughput measured since the worker started."""

    def __init__(self, storage: Any, study_id: int, mode: str, total: Callable[[], int],
                 progress: Callable[[Progress], None] | None) -> None:
        self.storage, self.study_id, self.mode = storage, study_id, mode
        self.total_of = total
        self.callback = progress
        self.start = time.perf_counter()
        self.counts = count_states(storage, study_id)
        self.done0 = self.done
        self.total = total()
        self.inflight = 0.0  # finished fraction of this worker's current population, in cells
        self.estimator = EtaEstimator()

    @property
    def done(self) -> int:
        extra = self.counts["PRUNED"] if self.mode == "tune" else 0
        return self.counts["COMPLETE"] + extra

    def refresh(self) -> None:
        self.counts = count_states(self.storage, self.study_id)
        self.total = self.total_of()

    def eta(self) -> float | None:
        """Seconds left, from the rate between progress steps (:mod:`studies.eta`): the
        start-up (data, compile) before the first finished epoch never counts."""
        return self.estimator.seconds(self.total)

    def report(self, message: str) -> Progress:
        self.estimator.add(time.perf_counter(), min(float(self.total), self.done + self.inflight))
        p = Progress(
            cells_done=self.done,
            cells_total=self.total,
            running=self.counts["RUNNING"],
            eta_seconds=self.eta(),
            message=message,
            partial=min(float(self.total), self.done + self.inflight),
        )
        if self.callback is not None:
            self.callback(p)
        return p


def _fmt_eta(seconds: float | None) -> str:
    return "?" if seconds is None else format_duration(seconds)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_worker(
    *,
    storage: str,
    study_name: str,
    device: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    max_members: int | None = None,
    data_dir: str | Path | None = None,
) -> WorkerSummary:
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
    st, study_id = require_study(storage, study_name, read_only=False)
    attrs = st.get_study_user_attrs(study_id)
    raw = attrs.get(L.SPEC)
    if not isinstance(raw, dict):
        raise StorageError("study", f"{study_name!r} has no stored spec (not created by studies)")
    spec = spec_from_dict(raw)
    try:
        dev = resolve_device(device or spec.device)
    except ValueError as error:
        raise SpecError("device", str(error)) from None
    data = load_data(spec, data_dir=data_dir)
    expected = attrs.get(L.TRAIN_SIZE)
    if expected is not None and int(expected) != data.train_size:
        raise SpecError(
            "data",
            f"this machine's {spec.data.dataset} gives {data.train_size} training points but "
            f"study {study_name!r} was created with {expected}; use the same data files",
        )
    data = data.to(dev)
    with warnings.catch_warnings():
        # Optuna flags heartbeats, fail_stale_trials and ask() under heartbeats as experimental.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
        study = optuna.load_study(
            study_name=study_name,
            storage=st,
            sampler=_sampler(spec, st, study_id),
            pruner=_pruner(spec),
        )
        summary = WorkerSummary(study=study_name)

        def total() -> int:
            a = st.get_study_user_attrs(study_id)
            if spec.mode == "tune":
                return int(a.get(L.N_TRIALS) or spec.tune.n_trials)  # type: ignore[union-attr]
            return int(a.get(L.CELLS_TOTAL) or spec.n_cells)

        tracker = _Tracker(st, study_id, spec.mode, total, progress)
        hb = _Heartbeat(st, st.get_heartbeat_interval() if hasattr(st, "get_heartbeat_interval")
                        else None)
        job = _Job(spec=spec, study=study, storage=st, study_id=study_id, data=data, device=dev,
                   heartbeat=hb, tracker=tracker, stop=stop, summary=summary,
                   limit=max_members or DEFAULT_MAX_MEMBERS)
        log.info(
            "worker %s on study %s (%s, device %s): cells %d/%d done",
            _worker_id(), study_name, spec.mode, dev, tracker.done, tracker.total,
        )
        tracker.report("starting")
        try:
            job.loop()
            tracker.refresh()
        except Exception as error:
            _raise_if_deleted(st, study_name, study_id, error)
            raise
        finally:
            hb.close()
        summary.cells_done, summary.cells_total = tracker.done, tracker.total
        summary.elapsed_s = time.perf_counter() - started
        summary.stopped = stop.is_set()
        tracker.report("stopped" if summary.stopped else "finished")
        log.info(
            "worker %s %s: %d completed (%d diverged), %d pruned, %d failed, %d handed back "
            "in %.1f s; cells %d/%d done",
            _worker_id(), "stopped" if summary.stopped else "finished", summary.completed,
            summary.diverged, summary.pruned, summary.failed, summary.interrupted,
            summary.elapsed_s, summary.cells_done, summary.cells_total,
        )
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


def _sampler(spec: StudySpec, st: Any, study_id: int) -> optuna.samplers.BaseSampler:
    if spec.mode != "tune":
        return optuna.samplers.RandomSampler(seed=0)  # never samples: cells carry their params
    # Seeded from the spec; the number of trials already there keeps a resumed or a second
    # worker from replaying the first one's proposals.
    n = sum(count_states(st, study_id).values())
    seed = (spec.seeds[0] * 1_000_003 + n) % (2**32)
    if spec.tune.sampler == "random":  # type: ignore[union-attr]
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def _pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    if spec.mode != "tune" or spec.tune.pruner == "none":  # type: ignore[union-attr]
        return optuna.pruners.NopPruner()
    if spec.tune.pruner == "hyperband":  # type: ignore[union-attr]
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=spec.epochs)
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=max(1, spec.epochs // 5))


@dataclass
class _Job:
    spec: StudySpec
    study: optuna.Study
    storage: Any
    study_id: int
    data: Any
    device: Any
    heartbeat: _Heartbeat
    tracker: _Tracker
    stop: threading.Event
    summary: WorkerSummary
    limit: int

    # --- the loop ------------------------------------------------------------------------
    def loop(self) -> None:
        while not self.stop.is_set():
            optuna.storages.fail_stale_trials(self.study)
            members = self._take_grid() if self.spec.mode == "grid" else self._take_tune()
            if not members:
                if self._others_running():
                    self.tracker.refresh()
                    self.tracker.report("waiting for other workers' cells")
                    self.stop.wait(self._poll_s())
                    continue
                return
            groups: dict[tuple[str, str], list[_Member]] = {}
            for m in members:
                groups.setdefault((family(m.optimizer), m.schedule), []).append(m)
            pending = list(groups.values())
            try:
                while pending and not self.stop.is_set():
                    self._train(pending.pop(0))  # a population that raises handles its cells
            finally:
                # Stopped, or a population raised: hand back what was claimed and not trained.
                for population in pending:
                    for m in population:
                        self._hand_back(m, interrupted=True)

    def _poll_s(self) -> float:
        interval = self.heartbeat.interval or IDLE_POLL_S
        return float(min(interval, IDLE_POLL_S * 2.5))

    def _others_running(self) -> bool:
        """Whether to wait: only heartbeats can turn a dead worker's RUNNING trial into a
        re-enqueued cell, so without them there is nothing to wait for."""
        if not self.heartbeat.enabled:
            return False
        counts = count_states(self.storage, self.study_id)
        if self.spec.mode == "tune" and self._budget_left(counts) <= 0 and not counts["WAITING"]:
            return counts["RUNNING"] > 0
        return counts["RUNNING"] > 0 or counts["WAITING"] > 0

    # --- taking work ----------------------------------------------------------------------
    def _take_grid(self) -> list[_Member]:
        waiting = read_trials(self.storage, self.study_id, states=("WAITING",))
        cells = [(r, _cell_params(r)) for r in waiting]
        usable = [(r, p) for r, p in cells if p is not None]
        for r, p in cells:
            if p is None:  # not a cell of ours (foreign enqueue): fail it once, visibly
                self._fail_foreign(r)
        if not usable:
            return []
        first = usable[0][1]
        group = (family(first["optimizer"]), first["schedule"])
        members = []
        for record, p in usable:
            if len(members) >= self.limit or self.stop.is_set():
                break
            if (family(p["optimizer"]), p["schedule"]) != group:
                continue
            self.heartbeat.beat(record.trial_id)  # before the claim: see the module docstring
            try:
                claimed = self.storage.set_trial_state_values(
                    record.trial_id, state=TrialState.RUNNING
                )
            except UpdateFinishedTrialError:
                claimed = False
            if not claimed:
                continue
            self.heartbeat.hold(record.trial_id)
            members.append(_Member(trial_id=record.trial_id, number=record.number, **p))
        return members

    def _fail_foreign(self, record: TrialRecord) -> None:
        try:
            if self.storage.set_trial_state_values(record.trial_id, state=TrialState.RUNNING):
                self.storage.set_trial_user_attr(
                    record.trial_id, L.ERROR, "not a cell of this study (params missing)"
                )
                self.storage.set_trial_state_values(record.trial_id, state=TrialState.FAIL)
        except UpdateFinishedTrialError:
            pass

    def _budget_left(self, counts: dict[str, int]) -> int:
        used = counts["COMPLETE"] + counts["PRUNED"] + counts["RUNNING"] + counts["WAITING"]
        return self.tracker.total_of() - used

    def _take_tune(self) -> list[_Member]:
        tune = self.spec.tune
        assert tune is not None
        counts = count_states(self.storage, self.study_id)
        # Re-enqueued trials (WAITING) are popped by ask() first and are already counted.
        n = min(tune.trials_per_batch, self._budget_left(counts) + counts["WAITING"])
        members = []
        for _ in range(max(0, n)):
            trial = self.study.ask()
            self.heartbeat.beat(trial._trial_id)
            self.heartbeat.hold(trial._trial_id)
            optimizer = trial.suggest_categorical("optimizer", list(self.spec.optimizers))
            lr = trial.suggest_float("lr", tune.lr.min, tune.lr.max, log=True)
            wd = trial.suggest_float(
                "weight_decay", tune.weight_decay.min, tune.weight_decay.max, log=True
            )
            schedule = trial.suggest_categorical("schedule", list(self.spec.schedule_names))
            seed = self.spec.seeds[trial.number % len(self.spec.seeds)]
            trial.set_user_attr(L.SEED, seed)
            trial.set_user_attr(L.SCHEDULE, schedule)
            trial.set_user_attr(L.WD_CONVENTION, self.spec.convention)
            members.append(
                _Member(trial_id=trial._trial_id, number=trial.number, optimizer=str(optimizer),
                        lr=float(lr), weight_decay=float(wd), seed=int(seed),
                        schedule=str(schedule), trial=trial)
            )
        return members

    # --- training -------------------------------------------------------------------------
    def _train(self, members: list[_Member]) -> None:
        spec, st = self.spec, self.storage
        configs, ok = [], []
        for m in members:
            try:
                configs.append(train_config(spec, optimizer=m.optimizer, lr=m.lr,
                                            weight_decay=m.weight_decay, seed=m.seed,
                                            schedule=m.schedule))
                ok.append(m)
            except (ValueError, KeyError) as error:  # a cell core refuses: visible, not retried
                self._fail(m, f"invalid cell: {error}", retry=False)
        members = ok
        if not members:
            return
        label = f"{'/'.join(sorted({m.optimizer for m in members}))} · {members[0].schedule}"
        n = len(members)
        pruned: set[int] = set()
        interrupted: set[int] = set()
        last_flush = time.perf_counter()
        start = time.perf_counter()

        def callback(epoch: int, running: dict[int, EpochMetrics]) -> list[int]:
            nonlocal last_flush
            stop_now: list[int] = []
            reports = []
            for i, metrics in running.items():
                m = members[i]
                m.history.append(metrics)
                if m.trial is not None:  # tune: the pruner needs the report now
                    m.trial.report(metrics.val_error, step=epoch)
                    if m.trial.should_prune():
                        pruned.add(i)
                        stop_now.append(i)
                else:
                    reports.append((m.trial_id, metrics.val_error))
            # In this thread: a background writer measured slower (GIL contention with the
            # training loop's own Python work and PyTorch's spinning threads).
            _report(st, epoch, reports)
            if time.perf_counter() - last_flush >= CURVES_FLUSH_S:
                _store_curves(st, [(members[i].trial_id, _curves(members[i].history))
                                   for i in running])
                last_flush = time.perf_counter()
            if self.stop.is_set() and epoch < spec.epochs:
                interrupted.update(i for i in running if i not in pruned)
                stop_now = list(running)
            self.tracker.inflight = n * epoch / spec.epochs
            self.tracker.report(f"{label}: {n} cells, epoch {epoch}/{spec.epochs}")
            return stop_now

        self.tracker.report(f"{label}: {n} cells starting")
        try:
            results = train_population(
                configs, model=core_model(spec), data=self.data, device=self.device,
                callback=callback,
            )
        except Exception as error:
            for m in members:
                self._fail(m, f"{type(error).__name__}: {error}", retry=True)
            self.tracker.inflight = 0.0
            raise
        except BaseException:  # KeyboardInterrupt, SystemExit: hand the cells back as is
            for m in members:
                self._hand_back(m, interrupted=True)
            self.tracker.inflight = 0.0
            raise
        for i, (m, result) in enumerate(zip(members, results, strict=True)):
            if i in interrupted:
                self._hand_back(m, interrupted=True)
            else:
                self._finish(m, result, pruned=i in pruned)
        self.summary.populations += 1
        self.tracker.inflight = 0.0
        self.tracker.refresh()
        p = self.tracker.report(f"{label}: {n} cells done")
        log.info(
            "population done: %d cells (%s) in %.1f s; cells %d/%d done, %d running, ETA %s",
            n, label, time.perf_counter() - start, p.cells_done, p.cells_total, p.running,
            _fmt_eta(p.eta_seconds),
        )

    # --- results --------------------------------------------------------------------------
    def _finish(self, m: _Member, result: RunResult, *, pruned: bool) -> None:
        st = self.storage
        history = result.history
        metrics = _metrics(result, history, self.data.train_size)
        value: float
        state = TrialState.COMPLETE
        if result.diverged:
            value = 1.0
        elif pruned:
            state = TrialState.PRUNED
            value = math.nan
        elif not history:
            self._fail(m, "no epoch finished", retry=True)
            return
        else:
            final = history[-1]
            value = final.test_error if self.spec.mode == "grid" else final.val_error
        try:
            st.set_trial_user_attr(m.trial_id, L.CURVES, _curves(history))
            st.set_trial_user_attr(m.trial_id, L.METRICS, metrics)
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
        if not self._mark_failed(m, L.ERROR, reason[:500]):
            return
        self.summary.failed += 1
        log.error("trial %d failed: %s", m.number, reason)
        if retry:
            requeue(self.study, self.storage.get_trial(m.trial_id), max_retry=MAX_RETRY)

    def _hand_back(self, m: _Member, *, interrupted: bool) -> None:
        if not self._mark_failed(m, L.INTERRUPTED, interrupted):
            return
        self.summary.interrupted += 1
        if self.spec.mode == "grid":
            requeue(self.study, self.storage.get_trial(m.trial_id), max_retry=None)


def _report(storage: Any, epoch: int, reports: list[tuple[int, float]]) -> None:
    """``trial.report(value, step=epoch)`` for many trials, at the storage level."""
    for trial_id, value in reports:
        # A trial declared stale by another worker raises; its result is dropped at the end.
        with contextlib.suppress(UpdateFinishedTrialError):
            storage.set_trial_intermediate_value(trial_id, epoch, value)


def _store_curves(storage: Any, curves: list[tuple[int, dict[str, list[float]]]]) -> None:
    for trial_id, series in curves:
        with contextlib.suppress(UpdateFinishedTrialError):
            storage.set_trial_user_attr(trial_id, L.CURVES, series)


def _cell_params(record: TrialRecord) -> dict[str, Any] | None:
    p = record.params
    try:
        return {
            "optimizer": str(p["optimizer"]),
            "lr": float(p["lr"]),
            "weight_decay": float(p["weight_decay"]),
            "seed": int(p["seed"]),
            "schedule": str(p["schedule"]),
        }
    except (KeyError, TypeError, ValueError):
        return None


def _curves(history: Sequence[EpochMetrics]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"epoch": [float(m.epoch) for m in history]}
    for name in L.CURVE_SERIES:
        out[name] = [float(getattr(m, name)) for m in history]
    return out


def _metrics(result: RunResult, history: Sequence[EpochMetrics], train_size: int
             ) -> dict[str, Any]:
    final = history[-1] if history and not result.diverged else None

    def best(name: str) -> float | None:
        values = [getattr(m, name) for m in history]
        return min(values) if values else None

    return {
        "final_test_error": final.test_error if final else None,
        "best_test_error": best("test_error"),
        "final_val_error": final.val_error if final else None,
        "best_val_error": best("val_error"),
        "final_train_loss": final.train_loss if final else None,
        "final_weight_norm": final.weight_norm if final else None,
        "epochs_done": len(history),
        "duration_s": result.duration_s,
        "train_size": train_size,
        "worker": _worker_id(),
    }
