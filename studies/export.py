"""A study's two tidy tables (see :mod:`studies.analysis._tables`) and its export.

Imports no torch at import time; η̄ is stepped through core's own schedules (torch), loaded
on the first trials table and cached per schedule. :mod:`studies.runner` re-exports these.

Both read a study with one query per table (:func:`studies.storage.read_trials`), so a study
of 10,000 trials gives its tables in about a second, and a running study's tables include its
RUNNING and WAITING trials (metrics NaN), which is what lets a landscape fill in live.

Weight decays appear in all three conventions (:mod:`core.optim`'s formulas). The
normalization factor is f = √(b/(B·T)) with b the batch size, B the training points actually
used (stored with the study when it was created) and T the epochs, or T₀ under warm restarts:
the λ of the first restart period (later periods are longer and get a smaller λ, which core
recomputes).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd
from optuna.storages import BaseStorage

from core.optim import from_paper, normalized_decay_factor, to_paper
from studies.analysis import CURVE_COLUMNS, TRIAL_COLUMNS, TRIAL_METRICS, theory_axis
from studies.spec import ScheduleSpec, SpecError, StudySpec
from studies.storage import StoredStudy, TrialRecord
from studies.storage import layout as L

FORMATS: tuple[str, ...] = ("csv", "json")

_NAN = math.nan


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else _NAN


def _kept(study: StoredStudy, **kwargs: Any) -> list[TrialRecord]:
    """The study's trials minus the cells their user removed (``removed=True``, see
    :mod:`studies.dashboard._added`): they leave every table, figure and export."""
    return [r for r in study.trials(**kwargs) if not r.user_attrs.get(L.REMOVED)]


def trials_frame(source: str | BaseStorage, study_name: str) -> pd.DataFrame:
    """One row per trial with exactly :data:`studies.analysis.TRIAL_COLUMNS`.

    ``source``: a storage URL or an Optuna storage. ``state`` is the trial state's name; metrics
    are NaN until a trial finishes (and the final ones for a diverged trial); ``diverged_epoch``
    is NaN unless it diverged; ``epochs_done`` counts reported epochs for a running trial;
    ``duration_s`` is the population's training time (NaN while running).
    """
    study = StoredStudy.open(source, study_name)
    factors: dict[str, float] = {}
    rows = [_trial_row(r, study.name, study.spec, study.train_size, factors)
            for r in _kept(study, intermediate_when=("RUNNING",))]
    return _typed(pd.DataFrame(rows, columns=list(TRIAL_COLUMNS)))


def _factor(spec: StudySpec | None, schedule: str, train_size: int | None,
            cache: dict[str, float]) -> float:
    """f = √(b/(B·T₀)), T₀ the first restart period or the whole run (the period whose λ a
    cell's paper λ is: :func:`studies.runner.first_period`); NaN when unknown (no spec, no B,
    a schedule the spec does not have). Imports torch on first use."""
    if spec is None or train_size is None:
        return _NAN
    if schedule not in cache:
        from studies.runner import first_period

        try:
            period = first_period(spec.schedule_named(schedule), epochs=spec.epochs)
            cache[schedule] = normalized_decay_factor(
                batch_size=spec.batch_size, train_size=train_size, epochs=period)
        except (KeyError, ValueError):
            cache[schedule] = _NAN
    return cache[schedule]


@functools.lru_cache(maxsize=64)
def _run_theory(schedule: ScheduleSpec, epochs: int, batch_size: int, train_size: int,
                normalized: bool) -> tuple[float, float, float]:
    """(η̄, S, k) of a run, stepped as core.train steps it: S = ⌈B/b⌉ steps per epoch (the last,
    smaller batch kept), η̄ the mean of η_t over steps t = 0 … E·S − 1 (warm-up included), k
    the mean of η_t·λ_t/λ: η̄, but under λ_norm λ_t = λ·√(T₀/T_i) per restart period T_i
    (:func:`studies.runner.decay_steps`). Imports torch on first use."""
    from core.train import steps_per_epoch
    from studies.runner import decay_steps

    steps = steps_per_epoch(train_size, batch_size)
    eta, ratio = (np.array(v) for v in decay_steps(schedule, epochs=epochs, steps_per_epoch=steps))
    k = eta * ratio if normalized else eta
    return float(eta.mean()), float(steps), float(k.mean())


def _conventions(wd: float, *, convention: str, lr: float, factor: float
                 ) -> tuple[float, float, float]:
    """(λ paper, wd PyTorch = λ/α, λ_norm = λ/f) of ``wd`` given in ``convention``; NaN
    where α or f is unknown or not positive."""
    known = math.isfinite(factor) and factor > 0
    try:
        lam = to_paper(wd, convention=convention, lr=lr, factor=factor if known else None)
    except ValueError:
        return _NAN, _NAN, _NAN
    return (lam, from_paper(lam, convention="pytorch", lr=lr) if lr > 0 else _NAN,
            from_paper(lam, convention="normalized", factor=factor) if known else _NAN)


def _trial_row(r: TrialRecord, study: str, spec: StudySpec | None, train_size: int | None,
               factors: dict[str, float]) -> dict[str, Any]:
    p, a = r.params, r.user_attrs
    metrics = a.get(L.METRICS) or {}
    schedule = p.get("schedule", a.get(L.SCHEDULE))
    convention = a.get(L.WD_CONVENTION) or (spec.convention if spec else "paper")
    lr, wd = _number(p.get("lr")), _number(p.get("weight_decay"))
    b = metrics.get("train_size", train_size)
    factor = _factor(spec, schedule, int(b) if b is not None else None, factors)
    paper, pytorch, normalized = (_conventions(wd, convention=convention, lr=lr, factor=factor)
                                  if math.isfinite(lr) and math.isfinite(wd) else (_NAN,) * 3)
    eta = steps = k = _NAN
    if spec is not None and b is not None and schedule in spec.schedule_names:
        eta, steps, k = _run_theory(spec.schedule_named(schedule), spec.epochs, spec.batch_size,
                                    int(b), convention == "normalized")
    tau = theory_axis("tau_epoch", paper, lr, decay_eta=k, steps_per_epoch=steps)
    diverged, epoch = bool(a.get(L.DIVERGED, False)), a.get(L.DIVERGED_EPOCH)
    epochs_done = metrics.get("epochs_done")
    return {
        "study": study, "trial": r.number, "state": r.state, "optimizer": p.get("optimizer"),
        "schedule": schedule, "lr": lr, "seed": p.get("seed", a.get(L.SEED)),
        "weight_decay": wd, "wd_convention": convention, "wd_paper": paper,
        "wd_pytorch": pytorch, "wd_normalized": normalized, "eta_mean": eta,
        "steps_per_epoch": steps, "shrink_per_step": k * paper,
        "tau_epochs": float(tau) if np.isfinite(tau) else _NAN, "diverged": diverged,
        "diverged_epoch": float(epoch) if diverged and epoch is not None else _NAN,
        "duration_s": _number(metrics.get("duration_s")),
        "epochs_done": int(len(r.intermediate) if epochs_done is None else epochs_done),
        **{c: _number(metrics.get(c)) for c in TRIAL_METRICS}}


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    floats = ("lr", "weight_decay", "wd_paper", "wd_pytorch", "wd_normalized", "diverged_epoch",
              "eta_mean", "steps_per_epoch", "shrink_per_step", "tau_epochs", "duration_s",
              *TRIAL_METRICS)
    frame = frame.astype(dict.fromkeys(floats, float)
                         | {"diverged": bool, "trial": np.int64, "epochs_done": np.int64})
    if len(frame) and frame["seed"].notna().all():
        frame["seed"] = frame["seed"].astype(np.int64)
    return frame


def curves_frame(source: str | BaseStorage, study_name: str) -> pd.DataFrame:
    """Per-epoch metrics, one row per (trial, epoch): ``study`` then
    :data:`studies.analysis.CURVE_COLUMNS`.

    Finished trials give their stored curves; a running trial gives the curves flushed so far
    and, for later epochs, the validation error it reported (other columns NaN).
    """
    study = StoredStudy.open(source, study_name)
    metrics = [c for c in CURVE_COLUMNS if c not in ("trial", "epoch")]
    columns: dict[str, list[Any]] = {c: [] for c in CURVE_COLUMNS}
    for r in _kept(study, curves=True, intermediate_when=("RUNNING",)):
        curves = r.user_attrs.get(L.CURVES) or {}
        epochs = [int(e) for e in curves.get("epoch", [])]
        # Epochs after the flushed curves: only the validation error the trial reported.
        later = sorted(s for s in r.intermediate if s > max(epochs, default=0))
        columns["trial"] += [r.number] * (len(epochs) + len(later))
        columns["epoch"] += epochs + [int(s) for s in later]
        for c in metrics:
            flushed = [float(v) for v in (curves.get(c) or [])[: len(epochs)]]
            columns[c] += flushed + [_NAN] * (len(epochs) - len(flushed)) + [
                float(r.intermediate[s]) if c == "val_error" else _NAN for s in later]
    frame = pd.DataFrame(columns, columns=list(CURVE_COLUMNS))
    frame = frame.astype({"trial": np.int64, "epoch": np.int64} | dict.fromkeys(metrics, float))
    frame.insert(0, "study", study.name)
    return frame


def export_trials(source: str | BaseStorage, study_name: str, *, fmt: str = "csv") -> str:
    """The trials table as CSV or JSON (a list of records), one row per trial.

    Columns: :data:`studies.analysis.TRIAL_COLUMNS`: study, trial, state, optimizer, schedule,
    lr, seed, weight_decay with its convention (``wd_convention``) and in all three
    conventions (``wd_paper``, ``wd_pytorch``, ``wd_normalized``), the theory coordinates
    ``eta_mean`` (η̄), ``steps_per_epoch`` (S), ``shrink_per_step`` (s̄, paper λ) and
    ``tau_epochs`` (τ_epoch; see :mod:`studies.analysis._tables`), diverged, final and best
    test / validation error, final train loss, final weight norm, duration and epochs done.
    Missing values are empty in CSV and null in JSON.
    """
    if fmt not in FORMATS:
        raise SpecError("format", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    frame = trials_frame(source, study_name)
    return frame.to_csv(index=False) if fmt == "csv" else frame.to_json(
        orient="records", indent=1) + "\n"

