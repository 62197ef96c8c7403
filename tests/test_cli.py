"""``python -m studies`` as a user runs it: real subprocesses, real SQLite files."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml

from studies.analysis import TRIAL_COLUMNS
from studies.cli._commands import resolve_spec
from studies.spec import load_preset

ROOT = Path(__file__).resolve().parent.parent
EXPORT_COLUMNS = ("study", "optimizer", "lr", "weight_decay", "wd_convention", "wd_paper",
                  "wd_pytorch", "wd_normalized", "seed", "schedule", "state",
                  "final_test_error", "best_test_error", "final_train_loss", "diverged",
                  "duration_s")


def _write_spec(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [None, "run", "worker", "list", "export", "delete"])
def test_help_of_every_command(cli, command):
    args = ["--help"] if command is None else [command, "--help"]
    result = cli(*args)
    assert result.returncode == 0 and result.stdout.startswith("usage: python -m studies")
    if command == "run":
        for option in ("--storage", "--study", "--device", "--workers", "--data-dir"):
            assert option in result.stdout


def test_presets_and_files_are_both_accepted():
    assert resolve_spec("demo") == load_preset("demo")
    assert resolve_spec(str(ROOT / "studies" / "presets" / "demo.yaml")) == load_preset("demo")


def test_run_list_export_delete(cli, tmp_path, tiny_dict):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    spec = _write_spec(tmp_path / "tiny.yaml", tiny_dict())
    run = cli("run", str(spec), "--storage", url)
    assert run.returncode == 0, run.stderr
    assert "study tiny: cells 8/8 done" in run.stdout
    assert "cells 8/8 done" in run.stderr and "population done" in run.stderr

    listed = cli("list", "--storage", url)
    assert listed.returncode == 0
    header, row = listed.stdout.strip().splitlines()
    assert header.split()[:4] == ["STUDY", "MODE", "STATE", "DONE"]
    assert row.split()[:4] == ["tiny", "grid", "finished", "8/8"]

    csv = cli("export", "--study", "tiny", "--storage", url, "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert list(frame.columns) == list(TRIAL_COLUMNS) and len(frame) == 8
    assert set(EXPORT_COLUMNS) <= set(frame.columns)
    assert (frame["state"] == "COMPLETE").all() and frame["final_test_error"].notna().all()

    out = tmp_path / "trials.json"
    exported = cli("export", "--study", "tiny", "--storage", url, "--format", "json",
                   "--out", str(out))
    assert exported.returncode == 0 and exported.stdout == ""
    records = json.loads(out.read_text())
    assert len(records) == 8 and set(EXPORT_COLUMNS) <= set(records[0])
    assert records[0]["diverged_epoch"] is None  # NaN is null in JSON

    refused = cli("delete", "--study", "tiny", "--storage", url)
    assert "--yes" in _one_error_line(refused)
    assert len(optuna.load_study(study_name="tiny", storage=url).trials) == 8
    deleted = cli("delete", "--study", "tiny", "--storage", url, "--yes")
    assert deleted.returncode == 0
    assert "no studies" in cli("list", "--storage", url).stdout


def test_invalid_input_is_one_line_exit_2_and_writes_nothing(cli, tmp_path, tiny_dict):
    db = tmp_path / "never.db"
    url = f"sqlite:///{db}"
    bad = _write_spec(tmp_path / "bad.yaml", {**tiny_dict(), "epoch": 3})
    assert _one_error_line(cli("run", str(bad), "--storage", url)).startswith("error: epoch")
    line = _one_error_line(cli("run", "no-such-preset", "--storage", url))
    assert "preset" in line and "demo" in line
    missing = _one_error_line(cli("run", str(tmp_path / "missing.yaml"), "--storage", url))
    assert missing.startswith("error: spec: no such file")
    assert "--workers" in _one_error_line(cli("run", "demo", "--workers", "0"))
    assert _one_error_line(cli("export", "--study", "nope", "--storage", url, "--format",
                               "csv")).startswith("error: study: no study 'nope'")
    assert _one_error_line(cli("worker", "--study", "nope", "--storage", url)).startswith(
        "error: study: no study 'nope'"
    )
    assert not db.exists()
    assert "nonsense" in _one_error_line(cli("list", "--storage", "nonsense"))
    # After the spec loads (a preset name works), a bad name or data set still writes nothing.
    assert _one_error_line(cli("run", "demo", "--study", "bad name", "--storage", url)
                           ).startswith("error: study: name must be")
    cifar = _write_spec(tmp_path / "cifar.yaml",
                        tiny_dict(data={"dataset": "cifar10", "train_size": 100}))
    no_data = _one_error_line(cli("run", str(cifar), "--storage", url, "--data-dir",
                                  str(tmp_path / "empty")))
    assert no_data.startswith("error: data: data set 'cifar10' is not available")
    # A device this machine lacks, asked for by the spec itself: refused before the study
    # exists, so no empty study with a Resume that would fail the same way is left behind.
    mps = _write_spec(tmp_path / "mps.yaml", {**tiny_dict(), "device": "mps"})
    assert _one_error_line(cli("run", str(mps), "--storage", url)).startswith(
        "error: device: device 'mps' was asked for")
    assert not db.exists()


def test_sigterm_keeps_finished_cells_and_run_again_finishes(cli, env, tmp_path, tiny_dict):
    url = f"sqlite:///{tmp_path / 'stop.db'}"
    log = tmp_path / "run.log"
    spec = _write_spec(tmp_path / "slow.yaml",
                       tiny_dict(epochs=30, data={"dataset": "digits", "train_size": 200}))
    command = [sys.executable, "-m", "studies", "run", str(spec), "--storage", url,
               "--max-members", "2", "--log", str(log)]
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while "population done" not in (log.read_text() if log.exists() else ""):
        assert proc.poll() is None and time.time() < deadline, proc.stderr
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    study = optuna.load_study(study_name="tiny", storage=url)
    states = [t.state.name for t in study.trials]
    assert 2 <= states.count("COMPLETE") < 8 and "RUNNING" not in states
    assert "SIGTERM" in log.read_text()

    again = cli("run", str(spec), "--storage", url, "--workers", "2", "--log", str(log))
    assert again.returncode == 0, again.stderr
    trials = optuna.load_study(study_name="tiny", storage=url).trials
    done = [t for t in trials if t.state.name == "COMPLETE"]
    cells = [t.user_attrs["cell"] for t in done]
    assert len(cells) == 8 and len(set(cells)) == 8
    assert all(t.user_attrs.get("interrupted") for t in trials if t.state.name == "FAIL")


def test_a_transfer_family_runs_its_members_and_bad_ones_write_nothing(cli, tmp_path, tiny_dict):
    url = f"sqlite:///{tmp_path / 'family.db'}"
    family = _write_spec(tmp_path / "fam.yaml", tiny_dict(transfer={"data": [0.5, 1]}))
    run = cli("run", str(family), "--storage", url, "--study", "fam")
    assert run.returncode == 0, run.stderr
    assert "study fam-x0.5: cells 8/8 done" in run.stdout
    assert "study fam-x1: cells 8/8 done" in run.stdout
    for name, n in (("fam-x0.5", 50), ("fam-x1", 100)):
        study = optuna.load_study(study_name=name, storage=url)
        assert study.user_attrs["train_size"] == n and len(study.trials) == 8
        assert study.user_attrs["spec"]["transfer"] == {"data": [0.5, 1.0], "scale": n / 100}
    again = cli("run", str(family), "--storage", url, "--study", "fam")  # resumes: nothing to do
    assert again.returncode == 0 and "fam-x1: cells 8/8 done (0 trained here" in again.stdout
    db = tmp_path / "never.db"
    # 2 × 1000 digits is more than the training part: refused before any member is created.
    big = _write_spec(tmp_path / "big.yaml", tiny_dict(data={"dataset": "digits",
                                                              "train_size": 1000},
                                                        transfer={"data": [1, 2]}))
    line = _one_error_line(cli("run", str(big), "--storage", f"sqlite:///{db}"))
    assert line.startswith("error: data: train_size must be") and "(member tiny-x2)" in line
    bad = _write_spec(tmp_path / "bad.yaml", tiny_dict(transfer={"data": [1]}))
    assert _one_error_line(cli("run", str(bad), "--storage", f"sqlite:///{db}")).startswith(
        "error: transfer.data: must be a list of 2 to 8 items")
    assert not db.exists()
