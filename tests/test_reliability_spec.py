"""Absurd sizes and learning rates float32 cannot hold are refused with one clear line."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from studies.runner import create_study, extend_study
from studies.spec import MAX_EPOCHS, MAX_WIDTH, Cell, SpecError, spec_from_dict


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"epochs": 10**9}, f"epochs: must be an integer in [1, {MAX_EPOCHS}], got 1000000000"),
        ({"model": {"name": "mlp", "widths": [16, 100_000_000]}},
         f"model.widths[1]: must be an integer in [1, {MAX_WIDTH}], got 100000000"),
        ({"model": {"name": "cnn", "channels": [100_000_000]}},
         f"model.channels[0]: must be an integer in [1, {MAX_WIDTH}]"),
        ({"lr": {"values": [0.001, 1e-300]}}, "lr.values[1]: must be >= 2**-126"),
        ({"lr": {"min": 1e-300, "max": 0.01, "count": 3}}, "lr.min: must be >= 2**-126"),
    ],
)
def test_absurd_values_are_refused_by_the_spec(tiny_dict, changes, expected):
    with pytest.raises(SpecError) as refused:
        spec_from_dict(tiny_dict(**changes))
    assert str(refused.value).startswith(expected), str(refused.value)


def test_a_tune_range_float32_cannot_hold_is_refused(tiny_dict):
    tune = tiny_dict(mode="tune", lr=None, weight_decay={"convention": "paper"},
                     tune={"n_trials": 4, "lr": {"min": 1e-300, "max": 0.01},
                           "weight_decay": {"min": 1e-4, "max": 1e-2}})
    del tune["lr"]
    with pytest.raises(SpecError, match=r"^tune\.lr\.min: must be >= 2\*\*-126"):
        spec_from_dict(tune)


def test_the_largest_allowed_values_still_validate(tiny_dict):
    spec = spec_from_dict(tiny_dict(epochs=MAX_EPOCHS,
                                    model={"name": "mlp", "widths": [MAX_WIDTH]},
                                    lr={"values": [2.0**-126, 0.01]}))
    assert spec.epochs == MAX_EPOCHS and min(spec.lr_values("adam")) == 2.0**-126


def test_an_extension_with_a_vanishing_lr_writes_nothing(tmp_path, tiny_spec):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    spec = tiny_spec()
    create_study(spec, storage=url)
    bad = Cell(optimizer="adam", lr=1e-300, weight_decay=0.01, seed=0, schedule="constant",
               convention="paper")
    with pytest.raises(SpecError, match=r"^cells\[0\]\.lr: must be a finite number >= "):
        extend_study(storage=url, study_name="tiny", cells=[bad])
    import optuna

    assert len(optuna.load_study(study_name="tiny", storage=url).trials) == spec.n_cells


def test_the_cli_refuses_absurd_epochs_in_one_line(cli, tmp_path, tiny_dict):
    spec = tmp_path / "huge.yaml"
    spec.write_text(yaml.safe_dump(tiny_dict(epochs=10**9)), encoding="utf-8")
    db = tmp_path / "never.db"
    result: subprocess.CompletedProcess[str] = cli("run", str(spec), "--storage",
                                                  f"sqlite:///{db}")
    assert result.returncode == 2 and result.stderr.startswith("error: epochs: must be")
    assert len(result.stderr.strip().splitlines()) == 1 and not db.exists()
