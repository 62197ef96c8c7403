"""A journal-file study survives a SIGKILLed run: heartbeats make the dead run's trials stale,
their cells are re-enqueued, and running the same command again finishes every cell once."""

from __future__ import annotations

import collections
import subprocess
import sys
import time
from pathlib import Path

import optuna
import yaml

from studies.storage import open_storage

ROOT = Path(__file__).resolve().parent.parent


def test_a_killed_run_on_a_journal_resumes_and_finishes_every_cell_once(tmp_path, tiny_dict,
                                                                        cli, env):
    url = f"journal:///{tmp_path / 'studies.log'}".replace("////", "///")
    spec = tmp_path / "slow.yaml"
    spec.write_text(yaml.safe_dump(tiny_dict(epochs=25, data={"dataset": "digits",
                                                               "train_size": 200})))
    proc = subprocess.Popen([sys.executable, "-m", "studies", "run", str(spec), "--storage", url,
                             "--max-members", "2", "--no-progress"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed: list[int] = []
    try:
        deadline = time.time() + 180
        while not killed:  # mid-trial: trials RUNNING with some epochs reported
            assert proc.poll() is None and time.time() < deadline, "the run never trained"
            time.sleep(0.05)
            try:
                storage = open_storage(url, read_only=True)
                study_id = storage.get_study_id_from_name("tiny")
            except KeyError:
                continue
            killed = [t.number for t in storage.get_all_trials(study_id, deepcopy=False)
                      if t.state.name == "RUNNING" and t.intermediate_values]
    finally:
        proc.kill()
        proc.wait(timeout=30)

    again = cli("run", str(spec), "--storage", url, "--no-progress", timeout=300)
    assert again.returncode == 0, again.stderr
    assert "cells 8/8 done" in again.stdout

    trials = optuna.load_study(study_name="tiny", storage=open_storage(url)).trials
    done = collections.Counter(t.user_attrs["cell"] for t in trials if t.state.name == "COMPLETE")
    assert len(done) == 8 and set(done.values()) == {1}  # every cell, exactly once
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    failed = {t.number for t in trials if t.state.name == "FAIL"}
    assert set(killed) <= failed  # the dead run's trials went stale, and were re-run:
    reruns = {t.system_attrs["failed_trial"] for t in trials
              if t.state.name == "COMPLETE" and "failed_trial" in t.system_attrs}
    assert set(killed) <= reruns
