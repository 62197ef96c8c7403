"""A study's mode as an object: what it trains, what counts as done, how big it is.

:class:`GridMode` and :class:`TuneMode` know the study's total (cells, or the trial budget;
both grow as the study is extended), which trial states count as done, their cells, their
objective, and their sampler and pruner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import optuna

from studies.spec import Cell, StudySpec, TuneSpec
from studies.storage import layout as L


@dataclass(frozen=True)
class _Mode:
    spec: StudySpec | None
    name: ClassVar[str]
    done_states: ClassVar[tuple[str, ...]]
    objective: ClassVar[str]  # the EpochMetrics field a finished trial is told as its value

    def done(self, counts: Mapping[str, int]) -> int:
        return sum(counts.get(s, 0) for s in self.done_states)


@dataclass(frozen=True)
class GridMode(_Mode):
    """Every cell is one trial enqueued at creation (or by an extension); a worker's cell
    handed back unfinished is enqueued again. The objective is the final test error (the
    landscapes' metric)."""

    name: ClassVar[str] = "grid"
    done_states: ClassVar[tuple[str, ...]] = ("COMPLETE",)
    objective: ClassVar[str] = "test_error"

    def total(self, attrs: Mapping[str, Any], n_trials: int = 0) -> int:
        """Cells enqueued so far (``cells_total``), else the spec's grid, else the trials."""
        return int(attrs.get(L.CELLS_TOTAL) or (self.spec.n_cells if self.spec else n_trials))

    def cells(self) -> list[Cell]:
        """The spec's grid (extensions are in :meth:`StoredStudy.cells`)."""
        return self.spec.cells() if self.spec else []

    def created_attrs(self) -> dict[str, Any]:
        assert self.spec is not None
        return {L.CELLS_TOTAL: self.spec.n_cells}

    def sampler(self, n_trials: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=0)  # never samples: cells carry their params

    def pruner(self) -> optuna.pruners.BasePruner:
        return optuna.pruners.NopPruner()


@dataclass(frozen=True)
class TuneMode(_Mode):
    """A sampler proposes each trial's optimizer, α, weight decay and schedule within the
    spec's ``tune`` ranges; a trial handed back unfinished is not re-run (the sampler asks
    anew), and pruned trials count as done. The objective is the final validation error (the
    sampler never sees test data)."""

    name: ClassVar[str] = "tune"
    done_states: ClassVar[tuple[str, ...]] = ("COMPLETE", "PRUNED")
    objective: ClassVar[str] = "val_error"

    @property
    def tune(self) -> TuneSpec:
        assert self.spec is not None and self.spec.tune is not None
        return self.spec.tune

    def total(self, attrs: Mapping[str, Any], n_trials: int = 0) -> int:
        """The trial budget (``n_trials``, raised by add_trials), else the spec's."""
        return int(attrs.get(L.N_TRIALS) or (self.tune.n_trials if self.spec else 0))

    def cells(self) -> list[Cell]:
        return []  # proposed one at a time by the sampler: see suggest

    def created_attrs(self) -> dict[str, Any]:
        return {L.N_TRIALS: self.tune.n_trials}

    def sampler(self, n_trials: int) -> optuna.samplers.BaseSampler:
        """Seeded from the spec; ``n_trials`` (already in the study) keeps a resumed or a
        second worker from replaying the first one's proposals."""
        assert self.spec is not None
        seed = (self.spec.seeds[0] * 1_000_003 + n_trials) % (2**32)
        if self.tune.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)

    def pruner(self) -> optuna.pruners.BasePruner:
        assert self.spec is not None
        if self.tune.pruner == "none":
            return optuna.pruners.NopPruner()
        if self.tune.pruner == "hyperband":
            return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=self.spec.epochs)
        return optuna.pruners.MedianPruner(n_startup_trials=5,
                                           n_warmup_steps=max(1, self.spec.epochs // 5))

    def suggest(self, trial: optuna.Trial) -> Cell:
        """The cell the sampler proposes for ``trial`` (log-uniform α and weight decay, in
        the spec's convention); seeds go round the spec's in trial order."""
        spec, tune = self.spec, self.tune
        assert spec is not None
        cell = Cell(
            optimizer=str(trial.suggest_categorical("optimizer", list(spec.optimizers))),
            lr=float(trial.suggest_float("lr", tune.lr.min, tune.lr.max, log=True)),
            weight_decay=float(trial.suggest_float(
                "weight_decay", tune.weight_decay.min, tune.weight_decay.max, log=True)),
            schedule=str(trial.suggest_categorical("schedule", list(spec.schedule_names))),
            seed=int(spec.seeds[trial.number % len(spec.seeds)]),
            convention=spec.convention,
        )
        for key, value in L.cell_attrs(cell).items():
            if key != L.CELL:  # a tune trial is no grid cell
                trial.set_user_attr(key, value)
        return cell


Mode = GridMode | TuneMode


def study_mode(spec: StudySpec | None, name: str | None = None) -> Mode:
    """The mode object of a study: ``name`` (as stored), else the spec's; grid by default."""
    name = name or (spec.mode if spec is not None else None)
    return TuneMode(spec) if name == "tune" else GridMode(spec)
