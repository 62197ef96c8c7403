"""Storages: URLs and redaction, SQLite under concurrent processes, list / delete."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest

from studies.export import curves_frame, trials_frame
from studies.runner import create_study, run_worker
from studies.storage import (
    StorageError,
    StudyNotFoundError,
    default_storage_url,
    delete_study,
    list_studies,
    load_spec,
    open_storage,
    redact,
)

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, *args: str, env: dict[str, str], stdin: int | None = None
            ) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                            cwd=ROOT, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_redact_hides_passwords_only():
    assert redact("postgresql://me:s3cret@db.example:5432/wd") == (
        "postgresql://me:***@db.example:5432/wd"
    )
    assert redact("postgresql+psycopg2://me:p%40ss@db/wd") == "postgresql+psycopg2://me:***@db/wd"
    assert redact("postgresql://me@db/wd") == "postgresql://me@db/wd"
    assert redact("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert redact("journal:///tmp/x.log") == "journal:///tmp/x.log"
    assert "hunter2" not in redact("not a url://user:hunter2@host")


def test_default_storage_url_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("WDLAB_STORAGE", raising=False)
    monkeypatch.setenv("WDLAB_HOME", str(tmp_path / "home"))
    assert default_storage_url() == f"sqlite:///{tmp_path / 'home' / 'studies.db'}"
    assert (tmp_path / "home").is_dir()
    monkeypatch.setenv("WDLAB_STORAGE", "postgresql://u:p@h/db")
    assert default_storage_url() == "postgresql://u:p@h/db"


def test_bad_urls_are_one_line_errors_with_the_password_hidden(tmp_path):
    with pytest.raises(StorageError, match=r"^storage: cannot parse"):
        open_storage("nonsense")
    with pytest.raises(StorageError, match=r"^storage: directory .* does not exist"):
        open_storage(f"sqlite:///{tmp_path}/missing/dir/x.db")
    with pytest.raises(StorageError, match=r"does not exist") as missing:
        open_storage(f"sqlite:///{tmp_path}/absent.db", create=False)
    assert not (tmp_path / "absent.db").exists() and "\n" not in str(missing.value)
    with pytest.raises(StorageError) as refused:
        open_storage("postgresql://me:hunter2@127.0.0.1:1/none")  # nothing listens on port 1
    assert "hunter2" not in str(refused.value) and "me:***@" in str(refused.value)
    assert list_studies(f"sqlite:///{tmp_path}/absent.db") == []
    with pytest.raises(StudyNotFoundError, match=r"^study: no study 'x'"):
        load_spec(f"sqlite:///{tmp_path}/absent.db", "x")


def test_list_load_delete(tmp_path, tiny_spec):
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert list_studies(url) == []
    spec = tiny_spec()
    create_study(spec, storage=url)
    (info,) = list_studies(url)
    assert (info.name, info.mode, info.state, info.cells_done, info.cells_total) == (
        "tiny", "grid", "partial", 0, 8
    )
    assert info.waiting == 8 and info.has_spec and info.optimizers == ("adam", "adamw")
    assert info.created is not None and info.created.tzinfo is not None
    run_worker(storage=url, study_name="tiny")
    (info,) = list_studies(url)
    assert info.state == "finished" and info.cells_done == 8 and set(info.best) == {"adam", "adamw"}
    assert all(0 <= e <= 1 for e in info.best.values())

    # Plain Optuna opens it.
    study = optuna.load_study(study_name="tiny", storage=url)
    assert len(study.trials) == 8 and study.user_attrs["spec"]["name"] == "tiny"
    assert study.best_trial.user_attrs["diverged"] is False

    assert load_spec(url, "tiny") == spec
    assert len(trials_frame(url, "tiny")) == 8 and len(curves_frame(url, "tiny")) == 16
    with pytest.raises(StudyNotFoundError, match=r"studies there: tiny"):
        load_spec(url, "other")
    create_study(tiny_spec(name="other"), storage=url)

    delete_study(url, "tiny")
    assert [s.name for s in list_studies(url)] == ["other"]
    with pytest.raises(StudyNotFoundError):
        delete_study(url, "tiny")


def test_journal_storage_runs_a_study(tmp_path, tiny_spec):
    url = f"journal:///{tmp_path / 'studies.log'}".replace("////", "///")
    assert url.startswith("journal:///")
    create_study(tiny_spec(optimizers=["adamw"]), storage=url)
    result = run_worker(storage=url, study_name="tiny")
    assert result.completed == 4
    (info,) = list_studies(url)
    assert info.state == "finished"
    assert (trials_frame(url, "tiny")["state"] == "COMPLETE").all()


WRITER = """
    import sys, time, optuna
    from studies.storage import open_storage
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(sys.argv[1])
    study = optuna.create_study(study_name="busy", storage=storage)
    print("ready", flush=True)
    end = time.time() + float(sys.argv[2])
    n = 0
    while time.time() < end:
        trial = study.ask()
        for step in range(3):
            trial.report(0.5, step)
        trial.set_user_attr("curves", {"val_error": [0.5] * 20})
        study.tell(trial, 0.1 * (n % 7))
        n += 1
    print(n, flush=True)
"""


def test_sqlite_readers_never_see_database_is_locked(tmp_path, env):
    path = tmp_path / "busy.db"
    url = f"sqlite:///{path}"
    writer = _python(WRITER, url, "4", env=env)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    reads = 0
    errors = []
    while writer.poll() is None:
        try:
            (info,) = list_studies(url)
            frame = trials_frame(url, "busy")
            assert len(frame) >= info.cells_done
            reads += 1
        except Exception as error:  # the point of the test: collect, don't stop
            errors.append(repr(error))
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    written = int(out.split()[-1])
    assert not errors, errors[:3]
    assert written > 20 and reads > 5
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


CLAIMER = """
    import json, sys, time, optuna
    from optuna.trial import TrialState
    from studies.storage import open_storage
    storage = open_storage(sys.argv[1])
    study_id = storage.get_study_id_from_name("race")
    print("ready", flush=True)
    sys.stdin.readline()  # every claimer is ready: all go at once
    claimed = []
    while True:
        waiting = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,))
        if not waiting:
            break
        for trial in waiting[:5]:
            if storage.set_trial_state_values(trial._trial_id, TrialState.RUNNING):
                claimed.append(trial.number)
        # A real worker trains between claims; without a pause one claimer on a quiet
        # machine can take all 150 before the others' first query, and nothing races.
        time.sleep(0.005)
    print(json.dumps(claimed))
"""


def test_concurrent_claims_on_sqlite_take_each_trial_once(tmp_path, env):
    # Plain pysqlite runs Optuna's check-then-set outside a transaction and lets two
    # processes take the same WAITING trial; open_storage's BEGIN IMMEDIATE must not.
    url = f"sqlite:///{tmp_path / 'race.db'}"
    study = optuna.create_study(study_name="race", storage=open_storage(url))
    for i in range(150):
        study.enqueue_trial({"x": i})
    procs = [_python(CLAIMER, url, env=env, stdin=subprocess.PIPE) for _ in range(3)]
    for proc in procs:  # all three have imported and opened the storage
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    claims = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        claims.append(json.loads(out))
    everything = [n for c in claims for n in c]
    assert sorted(everything) == list(range(150))  # each exactly once
    assert sum(1 for c in claims if c) >= 2  # and they really competed


OPENER = """
    import sys, time
    from studies.storage import open_storage
    while time.time() < float(sys.argv[2]):
        time.sleep(0.001)
    open_storage(sys.argv[1])
    print("opened", flush=True)
"""


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path, env):
    # Two processes creating a new SQLite schema together: one of them used to fail with
    # "table ... already exists" (seen when the dashboard and a worker start together).
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    start = str(time.time() + 3.0)  # let every process import first, then go together
    openers = [_python(OPENER, url, start, env=env) for _ in range(4)]
    for opener in openers:
        out, err = opener.communicate(timeout=120)
        assert opener.returncode == 0, err
        assert out.strip() == "opened"
