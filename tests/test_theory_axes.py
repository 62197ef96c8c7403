"""Theory coordinates of a study (issue 12): η̄ and S stepped as training steps them, and the
trials table and its exports carrying them. Every number is checked against a hand count."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from studies.export import _run_theory, export_trials, trials_frame
from studies.spec import ScheduleSpec, spec_from_dict
from tests.conftest import tiny_spec_dict


def theory(schedule: dict, *, epochs: int = 2, batch: int = 30, n: int = 100,
           normalized: bool = False) -> tuple[float, float, float]:
    return _run_theory(ScheduleSpec(**schedule), epochs, batch, n, normalized)


def test_steps_per_epoch_keeps_the_last_smaller_batch() -> None:
    assert theory({"name": "constant"}, batch=30, n=100)[1] == 4  # 30 + 30 + 30 + 10
    assert theory({"name": "constant"}, batch=50, n=100)[1] == 2
    assert theory({"name": "constant"}, batch=50, n=101)[1] == 3


def test_mean_eta_by_hand() -> None:
    # S = 4, E = 2: eight steps t = 0 … 7 at fractional epochs t/4.
    assert theory({"name": "constant"}) == (1.0, 4.0, 1.0)
    # Cosine over 2 epochs: η_t = ½(1 + cos(π t/8)); Σ_{t=0}^{7} cos(π t/8) = 1 (the pairs
    # t, 8 − t cancel, cos(π/2) = 0), so η̄ = ½ + ½·1/8.
    assert theory({"name": "cosine"})[0] == pytest.approx(0.5625, abs=1e-12)
    # ×0.1 from epoch 1: four steps at 1, four at 0.1.
    assert theory({"name": "step", "milestones": [1], "factor": 0.1})[0] == pytest.approx(0.55)
    # One warm-up epoch: ramp (t+1)/4 = ¼, ½, ¾, 1, then four steps at 1.
    assert theory({"name": "constant", "warmup_epochs": 1})[0] == pytest.approx(6.5 / 8)


def test_normalized_decay_under_warm_restarts_weights_each_period() -> None:
    # T₀ = 1, T_mult = 2, E = 3, S = 2: η = 1, ½ in period 1; 1, ½(1+cos π/4), ½, ½(1+cos 3π/4)
    # in period 2 (sum 2.5). λ_t = λ₀·√(T₀/T_i): the second period's steps count 1/√2.
    spec = {"name": "warm_restarts", "t0": 1, "t_mult": 2}
    eta, steps, k = theory(spec, epochs=3, batch=50, n=100, normalized=True)
    assert (eta, steps) == (pytest.approx(4 / 6), 2.0)
    assert k == pytest.approx((1.5 + 2.5 / math.sqrt(2)) / 6)
    assert theory(spec, epochs=3, batch=50, n=100)[2] == pytest.approx(4 / 6)  # paper λ


def test_trials_table_and_exports_carry_the_theory_columns(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from studies.runner import create_study

    monkeypatch.setenv("WDLAB_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'theory.db'}"
    spec = spec_from_dict(tiny_spec_dict(batch_size=30, schedules=[{"name": "cosine"}]))
    name = create_study(spec, storage=url)
    frame = trials_frame(url, name)
    assert len(frame) == 8 and set(frame["eta_mean"].round(12)) == {0.5625}
    assert set(frame["steps_per_epoch"]) == {4.0}  # 100 digits, batches of 30
    assert frame["shrink_per_step"].tolist() == pytest.approx(0.5625 * frame["wd_paper"])
    assert frame["tau_epochs"].tolist() == pytest.approx(1 / (0.5625 * frame["wd_paper"] * 4))
    csv = pd.read_csv(io.StringIO(export_trials(url, name, fmt="csv")))
    records = json.loads(export_trials(url, name, fmt="json"))
    for column in ("eta_mean", "steps_per_epoch", "shrink_per_step", "tau_epochs"):
        assert csv[column].tolist() == pytest.approx(frame[column].tolist())
        assert records[0][column] == pytest.approx(frame[column].iloc[0])
