"""The CLI under abuse: bounded workers that never outlive their parent, foreign files left
untouched, every credential form hidden, a full disk or read-only storage said in words, a
study deleted under a running worker, an empty --storage."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest
import yaml
from _processes import children_of

from studies.cli import main
from studies.spec import MAX_EPOCHS
from studies.storage import delete_study, open_storage, redact, scrub

ROOT = Path(__file__).resolve().parent.parent


def write_spec(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def one_error_line(code: int, err: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def proc_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def running_with_epochs(url: str, name: str) -> int:
    """RUNNING trials of the study that have reported at least one epoch (0 if none yet)."""
    try:
        storage = open_storage(url, read_only=True)
        study_id = storage.get_study_id_from_name(name)
    except Exception:
        return 0
    return sum(1 for t in storage.get_all_trials(study_id, deepcopy=False)
               if t.state.name == "RUNNING" and t.intermediate_values)


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, f"exited with {proc.returncode} before {what}"
        assert time.time() < deadline, f"never {what}"
        time.sleep(0.1)


# --- item 6: --storage "" ------------------------------------------------------------------


@pytest.mark.parametrize("command", [["list"], ["export", "--study", "x", "--format", "csv"],
                                     ["delete", "--study", "x", "--yes"],
                                     ["worker", "--study", "x"], ["run", "demo"]])
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_storage_url_is_refused(capsys, command, value, tmp_path, monkeypatch):
    monkeypatch.setenv("WDLAB_HOME", str(tmp_path / "home"))
    with pytest.raises(SystemExit) as exited:
        main([*command, "--storage", value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: argument --storage: must not be empty")
    assert not (tmp_path / "home" / "studies.db").exists()


# --- item 2: bounded workers, no orphans -----------------------------------------------------


def test_an_absurd_number_of_workers_is_refused_before_anything_starts(capsys, tmp_path):
    # A spec that does not exist: before the bound, this failed on the spec (after parsing).
    with pytest.raises(SystemExit) as exited:
        main(["run", str(tmp_path / "no.yaml"), "--workers", "100000000000"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: argument --workers: must be an integer from 1 to 64")


def test_worker_processes_die_with_their_killed_parent(tmp_path, tiny_dict, env):
    url = f"sqlite:///{tmp_path / 'orphans.db'}"
    log = tmp_path / "run.log"
    spec = write_spec(tmp_path / "long.yaml",
                      tiny_dict(epochs=MAX_EPOCHS, data={"dataset": "digits", "train_size": 200}))
    proc = subprocess.Popen([sys.executable, "-m", "studies", "run", str(spec), "--storage", url,
                             "--workers", "3", "--log", str(log)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    children: list[int] = []
    try:
        # All 8 cells taken (3 + 3 + 2) and training: the parent and both workers are busy.
        wait_for(lambda: running_with_epochs(url, "tiny") == 8, proc, "trained all 8 cells")
        children = children_of(proc.pid)
        assert len(children) == 2
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.time() + 120
        while any(proc_alive(c) for c in children):
            assert time.time() < deadline, "worker processes outlived their parent"
            time.sleep(0.2)
    finally:
        for pid in children:
            if proc_alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert "parent process is gone" in log.read_text()
    trials = optuna.load_study(study_name="tiny", storage=url).trials
    handed_back = [t for t in trials if t.state.name == "FAIL" and t.user_attrs.get("interrupted")]
    running = [t for t in trials if t.state.name == "RUNNING"]  # the SIGKILLed parent's
    # The workers handed their cells back (at most 3 per process: --max-members is 8/3).
    assert len(handed_back) + len(running) == 8 and len(running) <= 3


# --- item 5: foreign files -------------------------------------------------------------------


def _app_database(path: Path, *, studies_table: bool) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO users (name) VALUES ('ada')")
        if studies_table:  # a name Optuna uses, with the application's own columns
            connection.execute("CREATE TABLE studies (id INTEGER PRIMARY KEY, title TEXT)")
            connection.execute("INSERT INTO studies (title) VALUES ('mine')")
    connection.close()


@pytest.mark.parametrize("studies_table", [False, True], ids=["app", "own-studies-table"])
def test_a_foreign_sqlite_file_is_never_changed(capsys, tmp_path, tiny_dict, monkeypatch,
                                               studies_table):
    monkeypatch.setenv("WDLAB_HOME", str(tmp_path / "home"))
    db = tmp_path / "app.db"
    _app_database(db, studies_table=studies_table)
    before, files = md5(db), sorted(os.listdir(tmp_path))
    url = f"sqlite:///{db}"
    spec = write_spec(tmp_path / "home.yaml", tiny_dict())
    files = sorted(os.listdir(tmp_path))
    for command in (["list"], ["export", "--study", "tiny", "--format", "csv"],
                    ["delete", "--study", "tiny", "--yes"], ["worker", "--study", "tiny"],
                    ["run", str(spec)]):
        code, _, err = run_main(capsys, *command, "--storage", url)
        assert "is not an Optuna storage" in one_error_line(code, err), command
    assert md5(db) == before and sorted(os.listdir(tmp_path)) == files


def test_a_plain_optuna_file_is_only_read(capsys, tmp_path, tiny_dict, monkeypatch):
    monkeypatch.setenv("WDLAB_HOME", str(tmp_path / "home"))
    db = tmp_path / "plain.db"
    url = f"sqlite:///{db}"
    plain = optuna.create_study(study_name="tiny", storage=url)  # not made from a spec
    plain.enqueue_trial({"x": 1.0})
    optuna.storages.RDBStorage(url).engine.dispose()
    before = md5(db)
    spec = write_spec(tmp_path / "tiny.yaml", tiny_dict())
    code, out, _ = run_main(capsys, "list", "--storage", url)
    assert code == 0 and out.splitlines()[1].split()[:2] == ["tiny", "-"]
    code, _, err = run_main(capsys, "run", str(spec), "--storage", url)
    assert "was not made from a spec" in one_error_line(code, err)
    assert md5(db) == before
    with sqlite3.connect(db) as connection:  # not switched to WAL by the refused run
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    connection.close()


def test_an_empty_file_is_listed_as_empty_and_left_empty(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("WDLAB_HOME", str(tmp_path / "home"))
    db = tmp_path / "empty.db"
    db.touch()
    code, out, _ = run_main(capsys, "list", "--storage", f"sqlite:///{db}")
    assert code == 0 and out.startswith("no studies") and db.stat().st_size == 0
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("my notes\n" * 200)
    before = md5(not_sqlite)
    code, _, err = run_main(capsys, "list", "--storage", f"sqlite:///{not_sqlite}")
    assert "is not an SQLite database" in one_error_line(code, err)
    assert md5(not_sqlite) == before


# --- item 4: credentials ---------------------------------------------------------------------


SECRET = "hunter2xyz"


@pytest.mark.parametrize("url", [
    f"postgresql://me:{SECRET}@db.example:5432/wd",
    f"postgresql://me:{SECRET}@with-at@db.example/wd",  # a raw '@' in the password
    f"postgresql://me:pre@{SECRET}@db.example/wd",
    f"postgresql://me:{SECRET}%40x@db.example/wd",  # percent-encoded
    f"postgresql://me:{SECRET}/x:y?z@db.example/wd",  # '/', ':' and '?' in it
    f"postgresql://:{SECRET}@db.example/wd",  # no user name
    f"postgresql://me@db.example/wd?password={SECRET}",
    f"postgresql://me@db.example/wd?sslmode=require&PASSWORD={SECRET}",
    f"postgresql://me@db.example/wd?password=a&password={SECRET}",
    f"postgresql+psycopg2://me@db.example/wd?sslpassword={SECRET}",
    f"mysql+pymysql://me@db.example/wd?passwd={SECRET}",
    f"mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BX%7D%3BUID%3Dme%3BPWD%3D{SECRET}",
    f"not a url://me:{SECRET}@host",
])
def test_every_credential_form_is_redacted(url):
    shown = redact(url)
    assert SECRET not in shown and "***" in shown
    assert SECRET not in scrub(f"could not connect to {url}: host {url.split('@')[-1]}", url)


def test_redaction_keeps_what_is_not_secret():
    assert redact("postgresql://me@db/wd?sslmode=require") == "postgresql://me@db/wd?sslmode=require"
    assert redact("postgresql://me:pw@db:5432/wd?sslmode=require") == (
        "postgresql://me:***@db:5432/wd?sslmode=require")
    assert redact("sqlite:////tmp/a@b.db") == "sqlite:////tmp/a@b.db"
    assert redact("journal:///tmp/x.log") == "journal:///tmp/x.log"


def test_a_password_in_the_query_string_never_reaches_the_output(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("WDLAB_HOME", str(tmp_path / "home"))
    url = f"postgresql://me@127.0.0.1:1/db?password={SECRET}"  # nothing listens on port 1
    code, out, err = run_main(capsys, "list", "--storage", url)
    line = one_error_line(code, out + err)
    assert SECRET not in line and "password=***" in line


# --- item 6: full disk, read-only storage, a study deleted under a run -----------------------


FULL = """
    import sys
    from sqlalchemy import event
    from studies.cli import main
    from studies.storage import open_storage
    from studies.storage._read import rdb_of

    url, pragma, spec = sys.argv[1:4]
    engine = rdb_of(open_storage(url)).engine  # the CLI reuses this process's storage

    @event.listens_for(engine, "connect")
    def _limit(dbapi_connection, _record):
        dbapi_connection.execute(pragma)

    engine.dispose()
    sys.exit(main(["run", spec, "--storage", url]))
"""


@pytest.mark.parametrize(("pragma", "expected"), [
    # SQLITE_FULL, exactly what SQLite reports for a full disk: the file may not grow.
    ("PRAGMA max_page_count = 1", "error: storage: no space left on the device of sqlite:"),
    # SQLITE_READONLY, what a read-only (immutable) file gives.
    ("PRAGMA query_only = ON", "error: storage: sqlite:"),
])
def test_a_full_disk_or_read_only_storage_is_one_clear_line(tmp_path, tiny_dict, env, pragma,
                                                            expected):
    url = f"sqlite:///{tmp_path / 'full.db'}"
    # 2 × 10 × 10 cells: enqueueing them needs more pages than the new file has.
    spec = write_spec(tmp_path / "big.yaml", tiny_dict(
        lr={"min": 1e-4, "max": 1e-1, "count": 10},
        weight_decay={"convention": "paper", "min": 1e-5, "max": 1e-1, "count": 10}))
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(FULL), url, pragma,
                             str(spec)], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    line = one_error_line(result.returncode, result.stderr)
    assert line.startswith(expected), line
    if "query_only" in pragma:
        assert "is read-only" in line


def test_deleting_a_study_under_a_running_worker_stops_it_cleanly(tmp_path, tiny_dict, env):
    url = f"sqlite:///{tmp_path / 'deleted.db'}"
    spec = write_spec(tmp_path / "long.yaml",
                      tiny_dict(epochs=MAX_EPOCHS, data={"dataset": "digits", "train_size": 200}))
    proc = subprocess.Popen([sys.executable, "-m", "studies", "run", str(spec), "--storage", url,
                             "--no-progress"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: running_with_epochs(url, "tiny") > 0, proc, "started training")
        delete_study(url, "tiny")
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and "Traceback" not in err, err
    assert errors == ["error: study: 'tiny' was deleted while this worker was training it; "
                      "stopped (its trials are gone with it)"]


def test_a_run_waiting_for_another_creator_stops_on_sigterm(tmp_path, tiny_dict, env):
    from studies.storage import study_lock

    url = f"sqlite:///{tmp_path / 'wait.db'}"
    log = tmp_path / "run.log"
    spec = write_spec(tmp_path / "tiny.yaml", tiny_dict())
    storage = open_storage(url)
    with study_lock(url, storage, "tiny"):  # another creator, busy enqueueing
        proc = subprocess.Popen([sys.executable, "-m", "studies", "run", str(spec),
                                 "--storage", url, "--workers", "4", "--log", str(log)],
                                env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: "waiting for another process" in (
                log.read_text() if log.exists() else ""), proc, "waited for the lock")
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    assert proc.returncode == 143 and "Traceback" not in err, err
    assert "stopped before the study was fully created" in err
    assert "tiny" not in [s.study_name for s in open_storage(url).get_all_studies()]
