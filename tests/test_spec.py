"""Tests of studies.spec: presets, grids, cells, validation messages and field metadata."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import math
import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pydantic
import pytest

from studies.spec import (
    FIELDS,
    MAX_CELLS,
    PRESETS_DIR,
    SECTIONS,
    Cell,
    LrGrid,
    ModelSpec,
    ScheduleSpec,
    SpecError,
    StudySpec,
    WeightDecayGrid,
    json_schema,
    list_presets,
    load_preset,
    load_spec,
    log_grid,
    spec_from_dict,
    spec_from_yaml,
)

BASE: dict[str, Any] = {
    "name": "t",
    "data": {"dataset": "digits"},
    "model": {"name": "mlp"},
    "optimizers": ["adam", "adamw"],
    "lr": {"min": 2.0**-10, "max": 2.0**-4, "count": 4},
    "weight_decay": {"convention": "paper", "min": 2.0**-12, "max": 2.0**-6, "count": 4},
    "schedules": [{"name": "cosine"}],
    "epochs": 10,
    "batch_size": 32,
    "seeds": [0, 1],
}

TUNE_BASE: dict[str, Any] = {
    "name": "t",
    "mode": "tune",
    "data": {"dataset": "digits"},
    "model": {"name": "mlp"},
    "optimizers": ["adamw"],
    "weight_decay": {"convention": "paper"},
    "epochs": 10,
    "batch_size": 32,
    "tune": {
        "n_trials": 20,
        "trials_per_batch": 4,
        "lr": {"min": 1e-4, "max": 1e-1},
        "weight_decay": {"min": 1e-5, "max": 1e-1},
    },
}

DELETE = object()
FIELD_INFO = {info.path: info for info in FIELDS}  # was studies.spec.field_info (tests only)


def changed(base: dict[str, Any], *changes: tuple[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with each dotted path (``a.b[0].c``) set, or removed by DELETE."""
    out = copy.deepcopy(base)
    for path, value in changes:
        keys: list[str | int] = []
        for part in path.split("."):
            name, *indices = re.split(r"\[(\d+)\]", part)
            keys.append(name)
            keys.extend(int(i) for i in indices if i)
        node: Any = out
        for key in keys[:-1]:
            node = node[key]
        if value is DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return out


def error_of(data: Any) -> str:
    with pytest.raises(SpecError) as info:
        spec_from_dict(data)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- presets --------------------------------------------------------------------------------

EXPECTED_PRESETS = {
    "demo",
    "quick-digits",
    "fig2",
    "fig2-digits",
    "fig1-schedules",
    "fig1-schedules-digits",
    "curves",
    "warm-restarts",
    "cifar10-resnet",
    "tune",
}


def test_expected_presets_exist() -> None:
    assert set(list_presets()) >= EXPECTED_PRESETS
    assert list_presets() == sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("name", list_presets())
def test_preset_loads_and_round_trips(name: str) -> None:
    spec = load_preset(name)
    assert spec.name == name
    assert len(spec.description) > 40
    plain = spec.to_dict()
    as_json = json.loads(json.dumps(plain, allow_nan=False))
    assert spec_from_dict(as_json) == spec
    assert spec_from_dict(as_json).to_dict() == plain
    assert spec_from_yaml(spec.to_yaml()) == spec
    assert len(spec.cells()) == spec.n_cells
    if spec.mode == "grid":
        assert 0 < spec.n_cells <= MAX_CELLS
    else:
        assert spec.cells() == [] and spec.tune is not None


def test_demo_preset() -> None:
    spec = load_preset("demo")
    assert spec.data.dataset == "mnist1d"
    assert spec.optimizers == ("adam", "adamw")
    assert spec.convention == "paper"
    assert spec.model.name == "mlp" and spec.model.norm is True
    assert len(spec.seeds) >= 2  # the noise is measured, not assumed
    n_lr, n_wd = len(spec.lr_values()), len(spec.weight_decay_values())
    assert n_lr >= 6 and n_wd >= 6
    assert spec.n_cells == 2 * n_lr * n_wd * len(spec.seeds)


def test_quick_digits_preset_is_the_fast_first_look() -> None:
    spec = load_preset("quick-digits")
    assert spec.data.dataset == "digits" and spec.optimizers == ("adam", "adamw")
    assert spec.data.train_size is not None and 300 <= spec.data.train_size <= 500


@pytest.mark.parametrize("name", ["fig2", "fig2-digits"])
def test_fig2_preset_uses_all_four_optimizers_with_sgd_grids(name: str) -> None:
    spec = load_preset(name)
    assert set(spec.optimizers) == {"sgd", "sgdw", "adam", "adamw"}
    assert spec.schedule_names == ("cosine",)
    assert spec.lr_values("sgd") == spec.lr_values("sgdw")
    assert spec.lr_values("adam") == spec.lr_values("adamw") == spec.lr_values()
    assert min(spec.lr_values("sgd")) > min(spec.lr_values("adam"))
    for opt in spec.optimizers:
        assert len(spec.lr_values(opt)) == 8 and len(spec.weight_decay_values(opt)) == 8


@pytest.mark.parametrize("name", ["fig1-schedules", "fig1-schedules-digits"])
def test_fig1_preset_cells_carry_the_schedule(name: str) -> None:
    spec = load_preset(name)
    assert spec.schedule_names == ("constant", "step", "cosine")
    cells = spec.cells()
    assert {c.schedule for c in cells} == {"constant", "step", "cosine"}
    for name in spec.schedule_names:
        assert sum(c.schedule == name for c in cells) == spec.n_cells // 3
    assert spec.schedule_named("step").milestones == (9, 18, 24)


def test_other_presets() -> None:
    curves = load_preset("curves")
    assert curves.lr_values() == (0.001,) and curves.weight_decay_values()[0] == 0.0
    assert len(curves.seeds) >= 3
    wr = load_preset("warm-restarts")
    assert wr.convention == "normalized" and set(wr.optimizers) == {"adamw", "sgdw"}
    assert wr.schedules[0].name == "warm_restarts"
    gpu = load_preset("cifar10-resnet")
    assert (gpu.data.dataset, gpu.model.name, gpu.model.depth) == ("cifar10", "resnet", 20)
    assert (gpu.batch_size, gpu.epochs, gpu.schedule_names) == (128, 100, ("cosine",))
    tune = load_preset("tune")
    assert tune.mode == "tune" and tune.optimizers == ("adamw",) and tune.tune is not None
    assert (tune.tune.sampler, tune.tune.pruner) == ("tpe", "median")
    assert (tune.tune.n_trials, tune.tune.trials_per_batch) == (40, 8)


def test_load_preset_unknown_name() -> None:
    with pytest.raises(SpecError, match=r"^preset: unknown preset 'nope' \(available: "):
        load_preset("nope")


# --- grids ----------------------------------------------------------------------------------


def test_log_grid_exact_endpoints_and_constant_ratio() -> None:
    values = log_grid(1e-4, 1e-1, 7, base=2.0)
    assert values[0] == 1e-4 and values[-1] == 1e-1
    ratio = (1e-1 / 1e-4) ** (1 / 6)
    for a, b in itertools.pairwise(values):
        assert b / a == pytest.approx(ratio, rel=1e-12)


def test_log2_grid_of_powers_of_two_is_exact() -> None:
    grid = LrGrid(min=2.0**-12, max=2.0**-5, count=8)
    assert grid.base == 2.0
    assert grid.expand() == tuple(2.0**k for k in range(-12, -4))


def test_base_changes_no_value_beyond_rounding() -> None:
    two = log_grid(0.001, 0.1, 5, base=2.0)
    ten = log_grid(0.001, 0.1, 5, base=10.0)
    assert ten[2] == 0.01  # powers of the base come out exact
    assert two == pytest.approx(ten, rel=1e-12)


def test_single_value_grid_and_include_zero() -> None:
    assert LrGrid(min=0.01, max=0.01, count=1).expand() == (0.01,)
    wd = WeightDecayGrid(convention="paper", min=0.25, max=1.0, count=3, include_zero=True)
    assert wd.expand() == (0.0, 0.25, 0.5, 1.0)


def test_explicit_values_keep_their_order_and_allow_zero_decay() -> None:
    spec = spec_from_dict(
        changed(
            BASE,
            ("lr", {"values": [0.1, 0.01]}),
            ("weight_decay", {"convention": "pytorch", "values": [0, 1e-4]}),
        )
    )
    assert spec.lr_values() == (0.1, 0.01)
    assert spec.weight_decay_values() == (0.0, 1e-4)
    assert spec.convention == "pytorch"


# --- cells ----------------------------------------------------------------------------------


def test_cells_enumerate_the_full_product_without_duplicates() -> None:
    spec = spec_from_dict(changed(BASE, ("schedules", [{"name": "constant"}, {"name": "cosine"}])))
    cells = spec.cells()
    assert len(cells) == len(set(cells)) == spec.n_cells == 2 * 2 * 4 * 4 * 2
    expected = {
        (opt, lr, wd, seed, sched)
        for seed, sched, opt, lr, wd in itertools.product(
            spec.seeds,
            spec.schedule_names,
            spec.optimizers,
            spec.lr_values(),
            spec.weight_decay_values(),
        )
    }
    assert {(c.optimizer, c.lr, c.weight_decay, c.seed, c.schedule) for c in cells} == expected
    assert all(c.convention == "paper" for c in cells)
    # Seeds outermost: the first seed's whole landscape comes first.
    half = len(cells) // 2
    assert {c.seed for c in cells[:half]} == {0} and {c.seed for c in cells[half:]} == {1}


def test_cells_use_per_optimizer_overrides() -> None:
    spec = spec_from_dict(
        changed(
            BASE,
            ("optimizers", ["sgd", "sgdw", "adamw"]),
            ("seeds", [0]),
            (
                "overrides",
                [
                    {
                        "optimizers": ["sgd", "sgdw"],
                        "lr": {"values": [0.1, 0.2, 0.4]},
                        "weight_decay": {"convention": "paper", "values": [0, 1e-3]},
                    }
                ],
            ),
        )
    )
    assert spec.lr_values("sgd") == (0.1, 0.2, 0.4)
    assert spec.weight_decay_values("sgdw") == (0.0, 1e-3)
    assert spec.lr_values("adamw") == spec.lr_values() and len(spec.lr_values()) == 4
    assert spec.n_cells == 2 * 3 * 2 + 4 * 4
    cells = spec.cells()
    assert len(cells) == len(set(cells)) == spec.n_cells
    assert {c.lr for c in cells if c.optimizer == "sgd"} == {0.1, 0.2, 0.4}
    with pytest.raises(ValueError, match="adam"):
        spec.lr_values("adam")


def test_tune_mode_has_no_cells() -> None:
    spec = spec_from_dict(TUNE_BASE)
    assert spec.cells() == [] and spec.n_cells == 0
    assert spec.lr_values() == () and spec.weight_decay_values() == ()
    assert spec.tune is not None and spec.tune.sampler == "tpe" and spec.tune.pruner == "median"


def test_cell_is_frozen_and_keyword_only() -> None:
    cell = Cell(
        optimizer="adamw", lr=0.1, weight_decay=0.0, seed=0, schedule="cosine", convention="paper"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        cell.lr = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        Cell("adamw", 0.1, 0.0, 0, "cosine", "paper")  # type: ignore[misc]


# --- validation -----------------------------------------------------------------------------

# (changes to BASE, expected start of the message)
GRID_CASES: list[tuple[list[tuple[str, Any]], str]] = [
    # top level: names, types, unknown keys
    ([("name", "has space")], "name: must be 1-64 characters"),
    ([("name", "")], "name: must be 1-64 characters"),
    ([("name", "x" * 65)], "name: must be 1-64 characters"),
    ([("name", DELETE)], "name: required"),
    ([("optimiser", ["adam"])], "optimiser: unknown key (allowed: name, description, mode,"),
    ([("epochs", True)], "epochs: must be an integer in [1, 10000], got true"),
    ([("epochs", 10.0)], "epochs: must be an integer in [1, 10000], got 10.0"),
    ([("epochs", 0)], "epochs: must be an integer in [1, 10000], got 0"),
    ([("epochs", DELETE)], "epochs: required"),
    ([("batch_size", 0)], "batch_size: must be an integer >= 1, got 0"),
    ([("mode", "search")], "mode: must be one of grid, tune, got 'search'"),
    ([("device", "tpu")], "device: must be one of auto, cpu, cuda, mps, got 'tpu'"),
    ([("dtype", "float16")], "dtype: must be one of float32, float64, got 'float16'"),
    ([("decay", "biases")], "decay: must be one of matrices, all, got 'biases'"),
    ([("description", 3)], "description: must be a string, got 3"),
    # data
    ([("data", "digits")], "data: must be a mapping of field names, got 'digits'"),
    ([("data.datset", "digits")], "data.datset: unknown key (allowed: dataset, train_size,"),
    (
        [("data.dataset", "mnist")],
        "data.dataset: must be one of digits, mnist1d, fashion_mnist, cifar10",
    ),
    ([("data.dataset", DELETE)], "data.dataset: required"),
    ([("data.train_size", 5)], "data.train_size: must be an integer >= 10, got 5"),
    ([("data.train_size", "all")], "data.train_size: must be an integer >= 10, got 'all'"),
    ([("data.val_fraction", 0)], "data.val_fraction: must be a number in (0, 0.5], got 0"),
    ([("data.val_fraction", 0.6)], "data.val_fraction: must be a number in (0, 0.5], got 0.6"),
    ([("data.split_seed", -1)], "data.split_seed: must be an integer in [0, 4294967295]"),
    # model
    ([("model.name", "vit")], "model.name: must be one of mlp, cnn, cnn1d, resnet, got 'vit'"),
    ([("model.widths", [])], "model.widths: must be a list of at least 1 item, got 0"),
    ([("model.widths", [64, 0])], "model.widths[1]: must be an integer in [1, 16384], got 0"),
    ([("model.widths", 64)], "model.widths: must be a list, got 64"),
    (
        [("model.channels", [8])],
        "model.channels: not allowed for model 'mlp' (allowed: widths, norm)",
    ),
    ([("model.name", "resnet"), ("model.depth", 21)], "model.depth: must be 6n+2"),
    ([("model.name", "resnet"), ("model.depth", 2)], "model.depth: must be an integer >= 8, got 2"),
    (
        [("model.name", "resnet"), ("model.channels", [8])],
        "model.channels: not allowed for model 'resnet' (allowed: depth, width, norm)",
    ),
    ([("model.norm", "yes")], "model.norm: must be true or false, got 'yes'"),
    # optimizers, momentum, betas, eps
    (
        [("optimizers", ["adam", "lion"])],
        "optimizers[1]: must be one of sgd, sgdw, adam, adamw, got 'lion'",
    ),
    ([("optimizers", ["adam", "adam"])], "optimizers[1]: duplicate value 'adam'"),
    ([("optimizers", [])], "optimizers: must be a list of at least 1 item, got 0"),
    ([("optimizers", "adam")], "optimizers: must be a list, got 'adam'"),
    ([("momentum", 1.0)], "momentum: must be a number in [0, 1), got 1.0"),
    ([("betas", [0.9])], "betas: must be a list of exactly 2 items, got 1"),
    ([("betas", [0.9, 1])], "betas[1]: must be a number in [0, 1), got 1"),
    ([("eps", 0)], "eps: must be a number > 0, got 0"),
    # lr grid
    ([("lr.count", 0)], "lr.count: must be an integer in [1, 20000], got 0"),
    ([("lr.count", 2.5)], "lr.count: must be an integer in [1, 20000], got 2.5"),
    ([("lr.cnt", 4)], "lr.cnt: unknown key (allowed: values, min, max, count, base)"),
    ([("lr.max", 2.0**-11)], "lr.max: must be >= min (0.0009765625), got 0.00048828125"),
    ([("lr.max", 2.0**-10)], "lr.count: must be 1 when min == max, got 4"),
    ([("lr.count", 1)], "lr.count: must be >= 2 when min < max, got 1"),
    ([("lr.min", 0)], "lr.min: must be a number > 0, got 0"),
    ([("lr.min", -1e-3)], "lr.min: must be a number > 0, got -0.001"),
    ([("lr.min", "1e-3")], "lr.min: must be a number > 0, got '1e-3'"),
    ([("lr.min", math.nan)], "lr.min: must be a finite number, got nan"),
    ([("lr.max", math.inf)], "lr.max: must be a finite number, got inf"),
    ([("lr.count", DELETE)], "lr.count: required for a log range"),
    ([("lr.base", 1)], "lr.base: must be a number > 1, got 1"),
    ([("lr", {})], "lr: give values, or min, max and count"),
    ([("lr", {"values": [0.1, 0]})], "lr.values[1]: must be a number > 0, got 0"),
    ([("lr", {"values": [0.1, -0.1]})], "lr.values[1]: must be a number > 0, got -0.1"),
    ([("lr", {"values": [math.inf]})], "lr.values[0]: must be a finite number, got inf"),
    ([("lr", {"values": [math.nan]})], "lr.values[0]: must be a finite number, got nan"),
    ([("lr", {"values": []})], "lr.values: must be a list of at least 1 item, got 0"),
    ([("lr", {"values": [0.1, 0.1]})], "lr.values[1]: duplicate value 0.1"),
    ([("lr", {"values": [0.1], "min": 0.1})], "lr.min: not allowed together with values"),
    ([("lr", DELETE)], "lr: required in mode 'grid'"),
    # weight-decay grid
    ([("weight_decay.convention", DELETE)], "weight_decay.convention: required"),
    (
        [("weight_decay.convention", "keras")],
        "weight_decay.convention: must be one of paper, pytorch, normalized",
    ),
    (
        [("weight_decay", {"convention": "paper", "values": [-1e-4]})],
        "weight_decay.values[0]: must be a number >= 0, got -0.0001",
    ),
    (
        [("weight_decay", {"convention": "paper", "values": [math.nan]})],
        "weight_decay.values[0]: must be a finite number, got nan",
    ),
    (
        [("weight_decay", {"convention": "paper", "values": [0], "include_zero": True})],
        "weight_decay.include_zero: not allowed together with values",
    ),
    ([("weight_decay.min", 0)], "weight_decay.min: must be a number > 0, got 0"),
    ([("weight_decay.include_zero", 1)], "weight_decay.include_zero: must be true or false, got 1"),
    (
        [("weight_decay", {"convention": "paper"})],
        "weight_decay: give values, or min, max and count (mode 'grid')",
    ),
    ([("weight_decay", DELETE)], "weight_decay: required"),
    # schedules
    ([("schedules", {"name": "cosine"})], "schedules: must be a list, got a mapping"),
    ([("schedules", [])], "schedules: must be a list of at least 1 item, got 0"),
    ([("schedules", ["cosine"])], "schedules[0]: must be a mapping of field names, got 'cosine'"),
    (
        [("schedules[0].name", "linear")],
        "schedules[0].name: must be one of constant, step, cosine, warm_restarts",
    ),
    (
        [("schedules[0].t0", 5)],
        "schedules[0].t0: not allowed for schedule 'cosine' (allowed: eta_min, warmup_epochs)",
    ),
    (
        [("schedules[0].t_0", 5)],
        "schedules[0].t_0: unknown key (allowed: name, milestones, factor,",
    ),
    (
        [("schedules[0].eta_min", -0.1)],
        "schedules[0].eta_min: must be a number in [0, 1), got -0.1",
    ),
    ([("schedules", [{"name": "step"}])], "schedules[0].milestones: required for schedule 'step'"),
    (
        [("schedules", [{"name": "step", "milestones": [5, 3]}])],
        "schedules[0].milestones[1]: must be > the milestone before it (5), got 3",
    ),
    (
        [("schedules", [{"name": "step", "milestones": [5, 10]}])],
        "schedules[0].milestones[1]: must be < epochs (10), got 10",
    ),
    (
        [("schedules", [{"name": "step", "milestones": [5], "factor": 0}])],
        "schedules[0].factor: must be a number in (0, 1], got 0",
    ),
    (
        [("schedules", [{"name": "step", "milestones": [5], "eta_min": 0.0}])],
        "schedules[0].eta_min: not allowed for schedule 'step' "
        "(allowed: milestones, factor, warmup_epochs)",
    ),
    (
        [("schedules", [{"name": "constant", "factor": 0.5}])],
        "schedules[0].factor: not allowed for schedule 'constant' (allowed: warmup_epochs)",
    ),
    (
        [("schedules", [{"name": "warm_restarts"}])],
        "schedules[0].t0: required for schedule 'warm_restarts'",
    ),
    (
        [("schedules", [{"name": "warm_restarts", "t0": 0}])],
        "schedules[0].t0: must be a number > 0, got 0",
    ),
    (
        [("schedules", [{"name": "warm_restarts", "t0": 2, "t_mult": 0.5}])],
        "schedules[0].t_mult: must be a number >= 1, got 0.5",
    ),
    (
        [("schedules[0].warmup_epochs", -1)],
        "schedules[0].warmup_epochs: must be a number >= 0, got -1",
    ),
    (
        [("schedules[0].warmup_epochs", 10)],
        "schedules[0].warmup_epochs: must be < epochs (10), got 10.0",
    ),
    (
        [("schedules", [{"name": "cosine"}, {"name": "cosine", "eta_min": 0.1}])],
        "schedules[1].name: duplicate schedule 'cosine'",
    ),
    # seeds
    ([("seeds", [0, 1, 1])], "seeds[2]: duplicate value 1"),
    ([("seeds", [-1])], "seeds[0]: must be an integer in [0, 4294967295], got -1"),
    ([("seeds", [])], "seeds: must be a list of at least 1 item, got 0"),
    # tune section in grid mode
    ([("tune", TUNE_BASE["tune"])], "tune: not allowed in mode 'grid'"),
    # overrides
    (
        [("overrides", [{"optimizers": ["sgd"], "lr": {"values": [0.1]}}])],
        "overrides[0].optimizers[0]: 'sgd' is not one of optimizers",
    ),
    (
        [("overrides", [{"optimizers": ["adam"]}])],
        "overrides[0]: give lr or weight_decay (or both)",
    ),
    (
        [
            (
                "overrides",
                [
                    {"optimizers": ["adam"], "lr": {"values": [0.1]}},
                    {"optimizers": ["adam"], "lr": {"values": [0.2]}},
                ],
            )
        ],
        "overrides[1].optimizers[0]: 'adam' already has grids in overrides[0]",
    ),
    (
        [
            (
                "overrides",
                [
                    {
                        "optimizers": ["adam"],
                        "weight_decay": {"convention": "pytorch", "values": [0.1]},
                    }
                ],
            )
        ],
        "overrides[0].weight_decay.convention: "
        "must be weight_decay.convention ('paper'), got 'pytorch'",
    ),
    (
        [("overrides", [{"optimizers": ["adam"], "weight_decay": {"convention": "paper"}}])],
        "overrides[0].weight_decay: give values, or min, max and count",
    ),
    (
        [("overrides", [{"optimizers": ["adam"], "lr": {"count": 0}}])],
        "overrides[0].lr.count: must be an integer in [1, 20000], got 0",
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"), GRID_CASES, ids=[e.split(":")[0] for _, e in GRID_CASES]
)
def test_grid_spec_errors(changes: list[tuple[str, Any]], expected: str) -> None:
    message = error_of(changed(BASE, *changes))
    assert message.startswith(expected), message


TUNE_CASES: list[tuple[list[tuple[str, Any]], str]] = [
    ([("tune", DELETE)], "tune: required in mode 'tune'"),
    ([("lr", {"values": [0.1]})], "lr: not allowed in mode 'tune' (the search range is tune.lr)"),
    ([("weight_decay.values", [0, 1e-4])], "weight_decay.values: not allowed in mode 'tune'"),
    (
        [("weight_decay", {"convention": "paper", "min": 0.1, "max": 0.1, "count": 1})],
        "weight_decay.min: not allowed in mode 'tune'",
    ),
    (
        [("overrides", [{"optimizers": ["adamw"], "lr": {"values": [0.1]}}])],
        "overrides: not allowed in mode 'tune'",
    ),
    ([("tune.n_trials", 0)], "tune.n_trials: must be an integer in [1, 20000], got 0"),
    ([("tune.n_trials", DELETE)], "tune.n_trials: required"),
    ([("tune.sampler", "cmaes")], "tune.sampler: must be one of tpe, random, got 'cmaes'"),
    ([("tune.pruner", "asha")], "tune.pruner: must be one of median, hyperband, none, got 'asha'"),
    ([("tune.trials_per_batch", 30)], "tune.trials_per_batch: must be <= n_trials (20), got 30"),
    (
        [("tune.trials_per_batch", 0)],
        "tune.trials_per_batch: must be an integer in [1, 20000], got 0",
    ),
    ([("tune.lr.max", 1e-4)], "tune.lr.max: must be > min (0.0001), got 0.0001"),
    ([("tune.lr.max", 1e-5)], "tune.lr.max: must be > min (0.0001), got 1e-05"),
    ([("tune.weight_decay.min", 0)], "tune.weight_decay.min: must be a number > 0, got 0"),
    ([("tune.lr.mn", 1e-3)], "tune.lr.mn: unknown key (allowed: min, max)"),
    ([("tune.lr", DELETE)], "tune.lr: required"),
]


@pytest.mark.parametrize(
    ("changes", "expected"), TUNE_CASES, ids=[e.split(":")[0] for _, e in TUNE_CASES]
)
def test_tune_spec_errors(changes: list[tuple[str, Any]], expected: str) -> None:
    message = error_of(changed(TUNE_BASE, *changes))
    assert message.startswith(expected), message


def test_grid_size_guard_names_fields_and_limit() -> None:
    ok = changed(BASE, ("lr.count", 50), ("weight_decay.count", 100))  # 2·50·100·2 = 20,000
    assert spec_from_dict(ok).n_cells == MAX_CELLS
    message = error_of(changed(ok, ("lr.count", 51)))
    assert message.startswith("optimizers × lr × weight_decay × schedules × seeds: 20400 cells")
    assert "limit of 20000" in message


def test_huge_counts_are_refused_before_anything_is_built() -> None:
    message = error_of(changed(BASE, ("lr.count", 10**9)))
    assert message.startswith("lr.count: must be an integer in [1, 20000]")


def test_spec_error_is_a_value_error_with_path_and_reason() -> None:
    with pytest.raises(ValueError) as info:
        spec_from_dict(changed(BASE, ("epochs", 0)))
    error = info.value
    assert isinstance(error, SpecError)
    assert (error.path, error.reason) == ("epochs", "must be an integer in [1, 10000], got 0")


def test_non_mapping_documents() -> None:
    assert error_of([1, 2]).startswith("spec: must be a mapping of field names, got a list")
    assert error_of(None).startswith("spec: must be a mapping of field names, got null")
    with pytest.raises(SpecError, match=r"^spec: must be a mapping"):
        spec_from_yaml("- a\n- b\n")
    with pytest.raises(SpecError, match=r"^spec: must be a mapping"):
        spec_from_yaml("")


def test_yaml_syntax_error_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match=r"^yaml: line \d+, column \d+: ") as info:
        spec_from_yaml("name: t\ndata: {dataset: digits\n")
    assert "\n" not in str(info.value)


def test_yaml_duplicate_key_is_refused() -> None:
    text = "name: a\nname: b\n"
    with pytest.raises(SpecError, match=r"^yaml: line 2, column 1: duplicate key 'name'"):
        spec_from_yaml(text)


def test_yaml_reads_exponent_floats_but_not_quoted_numbers() -> None:
    import yaml

    base = yaml.safe_dump(changed(BASE, ("lr", DELETE)), sort_keys=False)
    spec = spec_from_yaml(base + "lr: {min: 1e-3, max: 1E-1, count: 3}\n")
    assert spec.lr_values() == (1e-3, pytest.approx(1e-2, rel=1e-12), 1e-1)
    with pytest.raises(SpecError, match=r"^lr\.min: must be a number > 0, got '1e-3'"):
        spec_from_yaml(base + "lr: {min: '1e-3', max: 0.1, count: 3}\n")


def test_load_spec_reads_files_and_reports_missing_ones(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(load_preset("demo").to_yaml(), encoding="utf-8")
    assert load_spec(path) == load_preset("demo")
    with pytest.raises(SpecError, match=r"^file: cannot read .*missing\.yaml"):
        load_spec(tmp_path / "missing.yaml")
    path.write_text("name: [\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"^yaml: .*study\.yaml: line"):
        load_spec(path)


def test_python_construction_validates_too() -> None:
    with pytest.raises(SpecError, match=r"^t0: not allowed for schedule 'cosine'"):
        ScheduleSpec(name="cosine", t0=5.0)
    spec = spec_from_dict(BASE)
    with pytest.raises(SpecError, match=r"^epochs: must be an integer in \[1, 10000\], got 0"):
        StudySpec(**{**dict(spec), "epochs": 0})
    longer = StudySpec(**{**dict(spec), "epochs": 20})
    assert longer.epochs == 20 and longer.model == spec.model
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        spec.epochs = 3  # type: ignore[misc]
    rebuilt = StudySpec(
        name="t",
        data=spec.data,
        model=spec.model,
        optimizers=["adam", "adamw"],
        lr=LrGrid(min=2.0**-10, max=2.0**-4, count=4),
        weight_decay=WeightDecayGrid(convention="paper", min=2.0**-12, max=2.0**-6, count=4),
        schedules=(ScheduleSpec(name="cosine"),),
        epochs=10,
        batch_size=32,
        seeds=(0, 1),
    )
    assert rebuilt == spec and rebuilt.optimizers == ("adam", "adamw")
    assert hash(rebuilt) == hash(spec)


def test_defaults_are_filled_in_and_spelled_out_by_to_dict() -> None:
    spec = spec_from_dict(BASE)
    plain = spec.to_dict()
    assert plain["model"] == {"name": "mlp", "widths": [128, 128], "norm": True}
    assert plain["schedules"] == [{"name": "cosine", "eta_min": 0.0, "warmup_epochs": 0.0}]
    assert plain["lr"]["base"] == 2.0 and plain["weight_decay"]["include_zero"] is False
    assert "tune" not in plain and "values" not in plain["lr"]
    assert (spec.momentum, spec.betas, spec.eps) == (0.9, (0.9, 0.999), 1e-8)


# --- field metadata -------------------------------------------------------------------------


def _section_in(hint: Any) -> type | None:
    """The spec section a type hint refers to (``X``, ``X | None``, ``tuple[X, ...]``)."""
    if isinstance(hint, type) and (issubclass(hint, pydantic.BaseModel) or hint is ModelSpec):
        return hint
    for arg in typing.get_args(hint):
        found = _section_in(arg)
        if found is not None:
            return found
    return None


def _leaf_paths(cls: type, prefix: str = "") -> set[str]:
    """Leaf paths read from the classes' own type hints, independently of FIELDS."""
    paths: set[str] = set()
    hints = typing.get_type_hints(cls, include_extras=True)
    names = [f.name for f in dataclasses.fields(cls)] if cls is ModelSpec else cls.model_fields
    for name in names:
        path = f"{prefix}.{name}" if prefix else name
        inner = _section_in(hints[name])
        if inner is None:
            paths.add(path)
        else:
            is_list = typing.get_origin(hints[name]) is tuple or any(
                typing.get_origin(a) is tuple for a in typing.get_args(hints[name]))
            paths |= _leaf_paths(inner, path + ("[]" if is_list else ""))
    return paths


def test_metadata_covers_every_leaf_field() -> None:
    paths = [info.path for info in FIELDS]
    assert len(paths) == len(set(paths))
    assert set(paths) == _leaf_paths(StudySpec)


def test_metadata_is_complete_and_consistent() -> None:
    kinds = {"str", "int", "float", "bool", "choice", "list"}
    for info in FIELDS:
        assert info.label, info.path
        assert info.help.endswith(".") and len(info.help) > 15, info.path
        assert info.kind in kinds, info.path
        if info.kind == "choice" or info.item_kind == "choice":
            assert info.choices, info.path
        if info.kind == "list":
            assert info.item_kind in kinds - {"list"}, info.path
        if info.required:
            assert info.default is None, info.path
        for condition_path, values in info.applies_when:
            target = FIELD_INFO[condition_path]
            assert target.choices is not None and set(values) <= set(target.choices)
    for section in SECTIONS:
        assert section.label and section.help.endswith("."), section.path
        assert section.kind in {"section", "grid", "range"}


def test_weight_decay_help_names_the_convention() -> None:
    for path in (
        "weight_decay.values",
        "weight_decay.min",
        "weight_decay.max",
        "overrides[].weight_decay.values",
        "tune.weight_decay.min",
    ):
        assert "weight_decay.convention" in FIELD_INFO[path].help, path
    convention = FIELD_INFO["weight_decay.convention"].help
    for word in ("paper", "η_t·λ", "pytorch", "λ/α", "normalized", "√(b/(B·T))"):
        assert word in convention


def _satisfy(base: dict[str, Any], conditions: tuple[tuple[str, tuple[str, ...]], ...]) -> dict:
    data = copy.deepcopy(base)
    for path, values in conditions:
        if path == "model.name":
            data["model"] = {"name": values[0]}
        elif path == "schedules[].name":
            data["schedules"] = [{"name": values[0]}]
            if values[0] == "warm_restarts":
                data["schedules"][0]["t0"] = 2
            if values[0] == "step":
                data["schedules"][0]["milestones"] = [5]
        elif path == "optimizers":
            data["optimizers"] = [values[0]]
        elif path == "data.dataset":
            data["data"] = {**data["data"], "dataset": values[0]}
    return data


@pytest.mark.parametrize(
    "info", [i for i in FIELDS if not i.required and i.default is not None], ids=lambda i: i.path
)
def test_metadata_defaults_are_the_defaults_a_spec_gets(info: Any) -> None:
    modes = dict(info.applies_when).get("mode", ("grid",))
    base = TUNE_BASE if modes[0] == "tune" else BASE
    if info.path.startswith("overrides[]."):
        base = changed(base, ("overrides", [{"optimizers": ["adam"]}]))
        section = info.path.split(".")[1]
        grid = {"values": [0.5]} if section == "lr" else {"convention": "paper"}
        if info.path.endswith((".base", ".include_zero")):
            grid = {"min": 0.25, "max": 0.5, "count": 2}
            if section == "weight_decay":
                grid["convention"] = "paper"
        base["overrides"][0][section] = grid
    data = _satisfy(base, info.applies_when)
    # Remove the field so the default applies, then read it back from the canonical form.
    keys = info.path.replace("[]", ".0").split(".")
    node: Any = data
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node[key]
    node.pop(keys[-1], None)
    value: Any = spec_from_dict(data).to_dict()
    for key in keys:
        value = value[int(key)] if key.isdigit() else value[key]
    assert value == info.default


def test_spec_module_stays_light() -> None:
    code = (
        "import sys, studies.spec; "
        "heavy = [m for m in ('torch', 'optuna', 'streamlit', 'numpy', 'plotly') "
        "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- JSON Schema ----------------------------------------------------------------------------


def test_every_preset_file_validates_against_the_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    validator = jsonschema.Draft202012Validator(json_schema())
    jsonschema.Draft202012Validator.check_schema(json_schema())
    for name in list_presets():
        document = yaml.safe_load((PRESETS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
        assert not list(validator.iter_errors(document)), name
        assert not list(validator.iter_errors(load_preset(name).to_dict())), name


@pytest.mark.parametrize(
    "changes",
    [
        [("epochs", 0)],  # not 10.0: JSON Schema counts it as an integer, the spec does not
        [("optimiser", ["adam"])],
        [("model.widths", [64, 0])],
        [("model.depth", "20")],
        [("lr.count", True)],
        [("optimizers", ["adam", "adam"])],
        [("schedules[0].name", "linear")],
    ],
    ids=lambda c: c[0][0],
)
def test_a_bad_file_fails_the_json_schema_as_it_fails_the_spec(changes: list) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    assert not list(validator.iter_errors(BASE))
    bad = changed(BASE, *changes)
    assert list(validator.iter_errors(bad))
    error_of(bad)


def test_schema_command_prints_the_json_schema() -> None:
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "studies", "schema"], cwd=root,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json_schema()


def test_spec_names_are_cores() -> None:
    import core.models as core_models
    import studies.spec as spec
    from core.data import DATASETS
    from core.models import MODELS
    from core.optim import DECAY_RULES, OPTIMIZERS, WD_CONVENTIONS
    from core.train._config import DTYPES

    assert (spec.DATASETS, spec.MODELS, spec.DECAY_RULES) == (DATASETS, MODELS, DECAY_RULES)
    assert tuple(OPTIMIZERS) == spec.OPTIMIZERS and tuple(DTYPES) == spec.DTYPES
    assert spec.CONVENTIONS == WD_CONVENTIONS and spec.ModelSpec is core_models.ModelSpec


def test_scalars_are_strict_and_lists_become_tuples() -> None:
    assert error_of(changed(BASE, ("batch_size", "32"))).startswith("batch_size: must be an int")
    assert error_of(changed(BASE, ("momentum", True))).startswith("momentum: must be a number")
    assert error_of(changed(BASE, ("seeds", [0, 1.0]))).startswith("seeds[1]: must be an integer")
    assert error_of(changed(BASE, ("model.widths", [64, True]))).startswith("model.widths[1]")
    spec = spec_from_dict(changed(BASE, ("momentum", 1 - 1), ("betas", [0, 0.5])))
    assert spec.momentum == 0.0 and type(spec.momentum) is float and spec.betas == (0.0, 0.5)
    assert isinstance(spec.optimizers, tuple) and isinstance(spec.model.widths, tuple)
    assert hash(spec) == hash(spec_from_dict(spec.to_dict()))
