"""MNIST-1D through the whole stack: a spec naming it trains end to end from the CLI.

The generator really runs (in the worker's process, into a temporary data directory), a 1-D
CNN population really trains, and the study's table comes back through ``export``.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
import yaml

from core.data import DATASETS as CORE_DATASETS
from core.models import MODELS as CORE_MODELS
from studies.runner._data import load_data
from studies.spec import DATASETS as SPEC_DATASETS
from studies.spec import MODELS as SPEC_MODELS
from studies.spec import SpecError, spec_from_dict


def test_spec_vocabulary_is_cores():
    # The spec spells the names out to stay free of torch; they must not drift apart.
    assert SPEC_DATASETS == CORE_DATASETS
    assert SPEC_MODELS == CORE_MODELS


def mnist1d_spec(*, data: dict | None = None, **model) -> dict:
    return {
        "name": "m1d",
        "data": {"dataset": "mnist1d", "train_size": 200, **(data or {})},
        "model": {"name": "cnn1d", "channels": [8, 8, 8], **model},
        "optimizers": ["adam", "adamw"],
        "lr": {"values": [0.001, 0.01]},
        "weight_decay": {"convention": "paper", "values": [0.0001, 0.01]},
        "epochs": 2,
        "batch_size": 50,
        "seeds": [0, 1],
        "device": "cpu",
    }


def test_spec_accepts_mnist1d_cnn1d_and_norm_for_every_model():
    spec = spec_from_dict(mnist1d_spec())
    assert spec.data.dataset == "mnist1d" and spec.model.channels == (8, 8, 8)
    assert spec.model.norm is True  # the spec's default, for every model
    plain = spec_from_dict(mnist1d_spec(norm=False))
    assert plain.model.norm is False
    resnet = spec_from_dict({**mnist1d_spec(), "model": {"name": "resnet", "norm": False}})
    assert resnet.model.norm is False


def test_num_samples_applies_to_mnist1d_only():
    spec = spec_from_dict(mnist1d_spec())
    assert spec.data.num_samples == 5000  # the standard 4,000 train / 1,000 test
    assert spec.to_dict()["data"]["num_samples"] == 5000
    assert spec_from_dict(mnist1d_spec(data={"num_samples": 800})).data.num_samples == 800
    digits = spec_from_dict({**mnist1d_spec(), "data": {"dataset": "digits"}})
    assert digits.data.num_samples is None and "num_samples" not in digits.to_dict()["data"]
    with pytest.raises(SpecError, match="data.num_samples: not allowed for dataset 'digits'"):
        spec_from_dict({**mnist1d_spec(), "data": {"dataset": "digits", "num_samples": 500}})
    with pytest.raises(SpecError, match="data.num_samples: must be a multiple of 10, got 505"):
        spec_from_dict(mnist1d_spec(data={"num_samples": 505}))
    with pytest.raises(
        SpecError, match=r"data.num_samples: must be an integer in \[50, 1000000\], got 10"
    ):
        spec_from_dict(mnist1d_spec(data={"num_samples": 10}))


def test_runner_loads_the_specs_sample_count(tmp_path):
    spec = spec_from_dict(mnist1d_spec(data={"num_samples": 300, "train_size": None}))
    data = load_data(spec, data_dir=tmp_path)
    assert len(data.test_y) == 60 and data.train_size + len(data.val_y) == 240
    assert data.input_shape == (1, 40)
    too_many = spec_from_dict(mnist1d_spec(data={"num_samples": 300, "train_size": 500}))
    with pytest.raises(SpecError, match="train_size must be between"):
        load_data(too_many, data_dir=tmp_path)


def test_tiny_mnist1d_grid_study_runs_end_to_end_from_the_cli(cli, env, tmp_path):
    data_dir = tmp_path / "data"
    env["WDLAB_DATA_DIR"] = str(data_dir)  # the worker generates and caches MNIST-1D here
    spec_path = tmp_path / "m1d.yaml"
    spec = mnist1d_spec(data={"num_samples": 1000})
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'm1d.db'}"

    run = cli("run", str(spec_path), "--storage", url, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "study m1d: cells 16/16 done" in run.stdout
    [cached] = (data_dir / "mnist1d").iterdir()  # generated once, for the spec's count
    assert cached.suffix == ".npz" and cached.name.startswith("mnist1d-n1000-")

    csv = cli("export", "--study", "m1d", "--storage", url, "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    trials = pd.read_csv(io.StringIO(csv.stdout))
    assert len(trials) == 16 and (trials["state"] == "COMPLETE").all()
    assert (trials["epochs_done"] == 2).all() and not trials["diverged"].any()
    assert trials["final_test_error"].between(0, 1).all()
    assert sorted(set(trials["seed"])) == [0, 1] and set(trials["optimizer"]) == {"adam", "adamw"}
    # Different cells trained differently (not one model copied 16 times).
    assert trials["final_test_error"].nunique() > 1
