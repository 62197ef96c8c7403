"""Many workers on one study in a real PostgreSQL server (tests/pg.py): the path past one
machine. Every cell must complete exactly once, even when a worker is killed mid-trial."""

from __future__ import annotations

import collections
import contextlib
import time

import optuna
import pytest
from _processes import children_of

from studies.runner import create_study
from studies.spec import spec_from_dict
from studies.storage import list_studies, open_storage

pytestmark = pytest.mark.postgres


def _grid(tiny_dict, name: str, **overrides):
    """2 optimizers × 3 learning rates × 3 weight decays = 18 cells."""
    return spec_from_dict(tiny_dict(
        name=name,
        lr={"values": [0.001, 0.003, 0.01]},
        weight_decay={"convention": "paper", "values": [0.0001, 0.001, 0.01]},
        **overrides,
    ))


def _with_password(url: str) -> str:
    # The test cluster trusts local connections, so any password works: one that must never
    # show up in output.
    return url.replace("postgres@", "postgres:hunter2@")


def _trials(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    # Plain "postgresql://" means psycopg 3 to SQLAlchemy 2.1; open_storage picks the
    # installed driver (psycopg2 here).
    return optuna.load_study(study_name=study, storage=open_storage(url)).trials


def _completed_cells(url: str, study: str) -> collections.Counter[str]:
    trials = _trials(url, study)
    return collections.Counter(t.user_attrs["cell"] for t in trials if t.state.name == "COMPLETE")


def _wait_all(procs, timeout: float) -> list[int]:
    deadline = time.time() + timeout
    codes = []
    for proc in procs:
        codes.append(proc.wait(timeout=max(1.0, deadline - time.time())))
    return codes


def test_three_workers_share_a_grid_and_take_each_cell_once(postgres_url, tiny_dict,
                                                            spawn_worker, tmp_path):
    url = _with_password(postgres_url)
    spec = _grid(tiny_dict, "shared", epochs=20, data={"dataset": "digits", "train_size": 200})
    create_study(spec, storage=url)
    logs = [tmp_path / f"worker{i}.log" for i in range(3)]
    workers = [spawn_worker(url, "shared", log=log, max_members=2) for log in logs]
    assert _wait_all(workers, timeout=240) == [0, 0, 0]

    done = _completed_cells(url, "shared")
    assert len(done) == 18 and set(done.values()) == {1}
    trials = _trials(url, "shared")
    assert len(trials) == 18  # nothing failed, nothing re-run
    by_worker = collections.Counter(t.user_attrs["metrics"]["worker"] for t in trials)
    assert len(by_worker) >= 2, by_worker  # the work was shared
    text = "".join(log.read_text() for log in logs)
    assert "hunter2" not in text and "postgres:***@" in text
    (info,) = [s for s in list_studies(url) if s.name == "shared"]
    assert info.state == "finished" and info.cells_done == 18


def test_a_worker_killed_mid_trial_leaves_no_cell_behind(postgres_url, tiny_dict,
                                                         spawn_worker, tmp_path):
    url = postgres_url
    spec = _grid(tiny_dict, "killed", epochs=30, data={"dataset": "digits", "train_size": 200})
    create_study(spec, storage=url)
    storage = open_storage(url, read_only=True)
    study_id = storage.get_study_id_from_name("killed")
    victim = spawn_worker(url, "killed", log=tmp_path / "victim.log", max_members=2)
    deadline = time.time() + 120
    while True:  # mid-trial: a trial RUNNING with some epochs reported
        held = [t for t in storage.get_all_trials(study_id, deepcopy=False)
                if t.state.name == "RUNNING" and t.intermediate_values]
        if held:
            break
        assert victim.poll() is None and time.time() < deadline, "victim never trained"
        time.sleep(0.05)
    victim.kill()
    victim.wait(timeout=30)

    helpers = [spawn_worker(url, "killed", log=tmp_path / f"helper{i}.log", max_members=2)
               for i in range(2)]
    assert _wait_all(helpers, timeout=240) == [0, 0]

    trials = _trials(url, "killed")
    done = _completed_cells(url, "killed")
    assert len(done) == 18 and set(done.values()) == {1}  # every cell, exactly once
    dead = [t for t in trials if t.state.name == "FAIL"]
    assert {t.number for t in held} <= {t.number for t in dead}  # the killed trials
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    reruns = {t.system_attrs["failed_trial"] for t in trials
              if t.state.name == "COMPLETE" and "failed_trial" in t.system_attrs}
    assert {t.number for t in dead} <= reruns


# --- reliability (issue 13): racing creators, the URL off the command line, redaction -------


def test_racing_creators_on_postgresql_enqueue_each_cell_once(postgres_url, tiny_dict, env):
    from test_reliability_create import assert_each_cell_once, big_grid, race

    url = _with_password(postgres_url)
    raw = big_grid(tiny_dict, "pg-race")
    race(url, raw, env, n=3)
    assert_each_cell_once(url, raw)


def test_workers_get_the_url_in_their_environment_and_nothing_shows_the_password(
        postgres_url, tiny_dict, env, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    from studies.dashboard._report import exports

    secret = "s3cr3t-in-query"
    url = postgres_url + f"?password={secret}"  # the test cluster accepts any password
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(tiny_dict(name="pg-env")), encoding="utf-8")
    log = tmp_path / "run.log"
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "studies", "run", str(spec), "--storage", url,
                             "--workers", "2", "--log", str(log)], env=env, cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: dict[int, tuple[bytes, bytes]] = {}
    try:
        deadline = time.time() + 180
        while not seen and proc.poll() is None and time.time() < deadline:
            for child in children_of(proc.pid):
                with contextlib.suppress(OSError):
                    cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                    if b"worker" in cmdline.split(b"\0"):  # exec'd (a fork shows our argv)
                        seen[child] = (cmdline, Path(f"/proc/{child}/environ").read_bytes())
            time.sleep(0.02)
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 0, err
    assert seen, "the worker subprocess was never seen"
    for cmdline, environ in seen.values():
        assert secret.encode() not in cmdline and b"--storage" not in cmdline
        assert f"WDLAB_STORAGE={url}".encode() in environ.split(b"\0")
    text = out + err + log.read_text()
    assert "cells 8/8 done" in out
    assert secret not in text and "password=***" in text
    (report,) = [e for e in exports(url, "pg-env") if e.filename.endswith("report.html")]
    html = report.make()
    assert "pg-env" in html and secret not in html and "password=***" in html
