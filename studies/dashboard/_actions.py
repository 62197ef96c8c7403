"""What the dashboard's buttons do to a study: launch, resume, refine, add seeds or trials,
delete. Each function checks the read-only policy itself, so the refusal does not depend on
a page hiding a button.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from studies.dashboard import _added
from studies.dashboard import _forms as forms
from studies.dashboard._live import study_progress
from studies.dashboard._options import require_writable
from studies.dashboard._runs import (
    RunError,
    RunStatus,
    forget_run,
    launch_run,
    launch_worker,
    run_status,
)
from studies.spec import Cell, SpecError, StudySpec, spec_from_dict, spec_from_yaml, yaml_text
from studies.storage import StoredStudy, StudyNotFoundError, delete_study, load_spec, open_storage


def existing_spec(url: str, study: str) -> StudySpec | None:
    """The spec stored with ``study``, None if there is no such study."""
    try:
        return load_spec(url, study)
    except StudyNotFoundError:
        return None


@functools.lru_cache(maxsize=16)
def _train_part(dataset: str, split_seed: int, val_fraction: float,
                num_samples: int | None) -> int | None:
    """Images in the training part of a data set (before any ``train_size`` subsample);
    None when its files (or MNIST-1D's generator) are not on this machine: the launched
    process then says so."""
    from core.data import DatasetUnavailableError, load_dataset

    try:
        splits = load_dataset(dataset, split_seed=split_seed, val_fraction=val_fraction,
                              download=False, num_samples=num_samples)
    except (DatasetUnavailableError, ValueError, OSError, ImportError):
        return None
    return splits.train_size


def check_data(spec: StudySpec) -> None:
    """Refuse a ``data.train_size`` larger than the data set's training part, as the CLI
    would, before anything starts (the data set is read once per server, never downloaded).
    """
    d = spec.data
    if d.train_size is None:
        return
    samples = d.num_samples if d.dataset == "mnist1d" else None
    available = _train_part(d.dataset, d.split_seed, d.val_fraction, samples)
    if available is not None and d.train_size > available:
        raise SpecError("data.train_size", f"must be at most {available} for {d.dataset} with "
                        f"a validation fraction of {d.val_fraction:g} (its training part), got "
                        f"{d.train_size}")


def read_form(values: Mapping[str, Any]) -> tuple[StudySpec | None, list[SpecError],
                                                 dict[str, Any]]:
    """(spec or None, problems, the spec mapping) of the Run form's values, validated as the
    CLI validates a file (the data set's size included)."""
    data, errors = forms.assemble(values)
    if errors:
        return None, list(errors), data
    try:
        spec = spec_from_dict(data)
        check_data(spec)
    except SpecError as error:
        return None, [error], data
    return spec, [], data


def read_yaml(text: str) -> tuple[StudySpec | None, list[SpecError]]:
    """(spec or None, problems) of a spec typed as YAML, validated as :func:`read_form`."""
    try:
        spec = spec_from_yaml(text)
        check_data(spec)
    except SpecError as error:
        return None, [error]
    return spec, []


def form_yaml(values: Mapping[str, Any]) -> tuple[str, list[SpecError]]:
    """The YAML of the form's values: the validated spec's, else what could be read (the
    problems say what is missing)."""
    spec, problems, data = read_form(values)
    return (spec.to_yaml() if spec is not None else yaml_text(data)), problems


def launch_summary(url: str, spec: StudySpec) -> str:
    """What Launch will do, in a sentence; :class:`SpecError` when a study of that name
    exists with another spec."""
    existing = None if spec.members else existing_spec(url, spec.name)
    if existing is not None and existing.to_dict() != spec.to_dict():
        raise SpecError("name", f"a study named {spec.name!r} already exists with a different "
                        "spec; choose another name")
    cells = f"{spec.n_cells} cells" if spec.mode == "grid" else f"{spec.tune.n_trials} trials"
    if spec.members:  # a transfer family: its members are the studies
        names = [m.name for m in spec.members]
        cells = (f"a transfer family of {len(names)} studies ({', '.join(names)}) with "
                 f"{sum(m.n_cells for m in spec.members)} cells in all, trained one after "
                 "another by one process (Cancel on the first stops the family)")
    note = " (it exists with this spec: launching resumes it)" if existing else ""
    return f"Ready: **{spec.name}**, {cells}{note}."


def launch(spec: StudySpec, *, storage: str, data_dir: Path | None = None) -> RunStatus:
    """Create (or resume) the study of ``spec`` in its own process. A transfer family runs as
    the CLI runs it, one process training its members in turn; the run is recorded under
    the first member, the study the Run page follows (the others fill in as they start).

    A study of that name made from another spec is refused here, with the message the CLI
    would give, before any process starts.
    """
    require_writable("Launching a study")
    studies = spec.members or (spec,)
    for study in studies:
        check_data(study)
    # Create the storage's tables here, before the CLI starts: two processes creating a
    # fresh database at once can collide, and this page polls the storage from now on.
    open_storage(storage)
    stored = {study.name: existing_spec(storage, study.name) for study in studies}
    for study in studies:
        if stored[study.name] is not None and stored[study.name].to_dict() != study.to_dict():
            raise SpecError("name", f"a study named {study.name!r} already exists with a "
                            "different spec; choose another name (or open that study and "
                            "resume it)")
    return launch_run(storage, studies[0].name, spec_yaml=spec.to_yaml(), data_dir=data_dir,
                      name=spec.name)


def ensure_worker(url: str, study: str, *, data_dir: Path | None = None) -> RunStatus:
    """A process working ``study``: the dashboard's running one, else a new worker."""
    require_writable("Starting a worker")
    current = run_status(url, study, data_dir=data_dir)
    if current is not None and current.alive:
        return current
    return launch_worker(storage=url, study=study, data_dir=data_dir)


def refine_plan(url: str, study: str, *, lr_range: tuple[float, float],
                wd_range: tuple[float, float], count: int | tuple[int, int],
                optimizers: Sequence[str] | None = None) -> list[Cell]:
    """The cells of a finer log₂ grid over a region, each coordinate snapped onto the
    study's own when within :data:`~studies.dashboard._added.SNAP_REL` of it (so cells
    already there are recognized, never duplicated a rounding error away)."""
    from studies.runner import refine_cells

    stored = _grid(url, study)
    spec, have = stored.need_spec(), stored.cells()
    lrs, wds = [c.lr for c in have], [c.weight_decay for c in have]
    # The ends first: a grid between the study's own points puts its inner points exactly
    # where the study's grid would (log_grid is exact between powers of two).
    lr_range = (_added.snap(lr_range[0], lrs), _added.snap(lr_range[1], lrs))
    wd_range = (_added.snap(wd_range[0], wds), _added.snap(wd_range[1], wds))
    cells = refine_cells(spec, lr_range=lr_range, wd_range=wd_range, count=count,
                         optimizers=optimizers)
    return _added.snap_cells(cells, lrs, wds)


def refine_region(url: str, study: str, *, lr_range: tuple[float, float],
                  wd_range: tuple[float, float], count: int | tuple[int, int],
                  optimizers: Sequence[str] | None = None, data_dir: Path | None = None
                  ) -> tuple[int, RunStatus | None]:
    """Add a finer log₂ grid over a region (weight decay in the study's convention, see
    :func:`refine_plan`) and make sure a worker trains it; returns (cells added, the
    worker's status)."""
    require_writable("Refining a study")
    from studies.runner import extend_study

    cells = refine_plan(url, study, lr_range=lr_range, wd_range=wd_range, count=count,
                        optimizers=optimizers)
    added = extend_study(storage=url, study_name=study, cells=cells)
    return added, (ensure_worker(url, study, data_dir=data_dir) if added else None)


def remove_added(url: str, study: str, *, finished: bool) -> int:
    """Take the cells added to ``study`` after its creation back out: those not trained
    yet, and the finished ones too when ``finished`` (see :mod:`._added`)."""
    require_writable("Removing cells")
    return _added.remove_added(_grid(url, study, read_only=False), finished=finished)


def added_cells(url: str, study: str) -> _added.Added:
    """The cells added to ``study`` after its creation, by state."""
    return _added.added_cells(_grid(url, study))


def more_seeds(url: str, study: str, *, cells: Sequence[Cell], n_seeds: int,
               trials: pd.DataFrame, data_dir: Path | None = None
               ) -> tuple[int, RunStatus | None]:
    """Train ``cells`` (e.g. the best ones) with ``n_seeds`` new seeds, numbered after the
    largest seed in the study; returns (cells added, the worker's status)."""
    require_writable("Adding seeds")
    from studies.runner import extend_study, more_seeds_cells

    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or not 1 <= n_seeds <= 100:
        raise SpecError("seeds", f"must be an integer in [1, 100], got {n_seeds!r}")
    spec = _grid(url, study).need_spec()
    seeds = pd.to_numeric(trials["seed"], errors="coerce").dropna()
    first = int(max([*seeds.tolist(), *spec.seeds])) + 1
    extra = more_seeds_cells(spec, seeds=list(range(first, first + n_seeds)), cells=list(cells))
    added = extend_study(storage=url, study_name=study, cells=extra)
    return added, (ensure_worker(url, study, data_dir=data_dir) if added else None)


def add_tune_trials(url: str, study: str, n: int, *, data_dir: Path | None = None
                    ) -> tuple[int, RunStatus]:
    """Raise a tune study's budget by ``n`` trials and make sure a worker runs them; returns
    (the new budget, the worker's status)."""
    require_writable("Adding trials")
    from studies.runner import add_trials

    budget = add_trials(url, study, n)
    return budget, ensure_worker(url, study, data_dir=data_dir)


def delete(url: str, study: str, *, data_dir: Path | None = None) -> None:
    """Delete a study and its trials. Refused while the dashboard runs a process on it."""
    require_writable("Deleting a study")
    current = run_status(url, study, data_dir=data_dir)
    if current is not None and current.alive:
        raise RunError(f"study {study!r} is running (PID {current.record.pid}); cancel it first")
    delete_study(url, study)
    forget_run(url, study, data_dir=data_dir)


def _grid(url: str, study: str, *, read_only: bool = True) -> StoredStudy:
    stored = StoredStudy.open(url, study, read_only=read_only, wait=True)
    stored.need_mode("grid", "add trials instead")
    return stored


DEMO_PRESET = "demo"
_DATASETS = {"digits": "scikit-learn's 8×8 digits", "mnist1d": "MNIST-1D",
             "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}


def demo_blurb() -> str:
    """What the demo does, every number read from its preset."""
    from studies.analysis import display_name
    from studies.spec import load_preset

    spec = load_preset(DEMO_PRESET)
    names = " and ".join(f"**{display_name(o)}**" for o in spec.optimizers)
    seeds, first = len(spec.seeds), spec.optimizers[0]
    n_lr, n_wd = len(spec.lr_values(first)), len(spec.weight_decay_values(first))
    data = _DATASETS.get(spec.data.dataset, spec.data.dataset)
    if spec.data.train_size:
        data = f"{spec.data.train_size} of {data}"
    from studies.plots import CONVENTION_SYMBOLS

    return (f"The demo trains **{spec.n_cells} small networks** on {data}: {names}, each on "
            f"a grid of {n_lr} learning rates α × {n_wd} weight decays "
            f"{CONVENTION_SYMBOLS[spec.convention]}"
            f"{f' with {seeds} seeds per cell' if seeds > 1 else ''}, {spec.epochs} epochs, "
            "many at once as batched models. The heatmaps fill in live, epoch by epoch.")


def run_demo(url: str, *, data_dir: Path | None = None) -> tuple[str, str]:
    """The one-click demo: (study name, what happened), the latter one of "launched",
    "resumed", "running" or "finished".

    Uses the study ``demo`` when it was made from the demo preset (resuming it if it stopped
    part-way), else the first free name of ``demo-2``, ``demo-3``, ...
    """
    from studies.spec import load_preset

    require_writable("Launching the demo")
    preset = load_preset(DEMO_PRESET)
    for k in range(1, 100):
        name = DEMO_PRESET if k == 1 else f"{DEMO_PRESET}-{k}"
        spec = preset.renamed(name)
        status = run_status(url, name, data_dir=data_dir)
        if status is not None and status.alive:
            return name, "running"
        stored = existing_spec(url, name)
        if stored is None:
            launch(spec, storage=url, data_dir=data_dir)
            return name, "launched"
        if stored.to_dict() != spec.to_dict():
            continue
        progress = study_progress(url, name)
        if progress.finished:
            return name, "finished"
        if progress.running:
            return name, "running"
        ensure_worker(url, name, data_dir=data_dir)
        return name, "resumed"
    raise RunError("there are 99 demo studies already; delete some on the Studies page")
