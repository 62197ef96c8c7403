"""Creating a study is atomic: racing creators enqueue every cell once, a killed creator leaves
the rest to the next, and a reader never sees a study "without a spec" mid-creation."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import optuna
import pytest

from studies.runner import create_study
from studies.spec import spec_from_dict
from studies.storage import StorageError, load_spec, open_storage, study_lock
from studies.storage import layout as L

ROOT = Path(__file__).resolve().parent.parent

CREATOR = """
    import json, sys, time
    from studies.runner import create_study
    from studies.spec import spec_from_dict
    spec = spec_from_dict(json.loads(sys.argv[2]))
    while time.time() < float(sys.argv[3]):  # every creator imports first, then all go
        time.sleep(0.001)
    print(create_study(spec, storage=sys.argv[1]), flush=True)
"""


def big_grid(tiny_dict, name: str = "race", n_lr: int = 6, n_wd: int = 5) -> dict:
    """2 optimizers × 6 learning rates × 5 weight decays = 60 cells by default: a second or
    more to enqueue, a window every racing creator falls into."""
    return tiny_dict(name=name, lr={"min": 1e-4, "max": 1e-1, "count": n_lr},
                     weight_decay={"convention": "paper", "min": 1e-5, "max": 1e-1,
                                   "count": n_wd})


def creator(url: str, raw: dict, start: float, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CREATOR), url, json.dumps(raw), str(start)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def cells_of(url: str, name: str) -> collections.Counter[str]:
    study = optuna.load_study(study_name=name, storage=open_storage(url, read_only=True))
    return collections.Counter(t.user_attrs[L.CELL] for t in study.get_trials(deepcopy=False))


def race(url: str, raw: dict, env: dict[str, str], n: int = 4) -> None:
    start = time.time() + 4.0
    procs = [creator(url, raw, start, env) for _ in range(n)]
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        assert out.strip() == raw["name"]


def assert_each_cell_once(url: str, raw: dict) -> None:
    n = spec_from_dict(raw).n_cells
    cells = cells_of(url, raw["name"])
    assert sum(cells.values()) == n, (sum(cells.values()), n)
    assert set(cells.values()) == {1} and len(cells) == n
    storage = open_storage(url, read_only=True)
    attrs = storage.get_study_user_attrs(storage.get_study_id_from_name(raw["name"]))
    assert attrs[L.CELLS_ENQUEUED] is True and attrs[L.CELLS_TOTAL] == n


def test_racing_creators_on_sqlite_enqueue_each_cell_once(tmp_path, tiny_dict, env):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    raw = big_grid(tiny_dict)
    race(url, raw, env, n=3)
    assert_each_cell_once(url, raw)


def test_racing_creators_on_a_journal_file_enqueue_each_cell_once(tmp_path, tiny_dict, env):
    url = f"journal:///{tmp_path / 'race.log'}".replace("////", "///")
    raw = big_grid(tiny_dict)
    race(url, raw, env, n=2)
    assert_each_cell_once(url, raw)


def test_a_creator_killed_mid_enqueue_is_finished_by_the_next(tmp_path, tiny_dict, env):
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    raw = big_grid(tiny_dict, "killed", n_lr=10, n_wd=6)  # 120 cells: seconds to enqueue
    proc = creator(url, raw, time.time(), env)
    try:
        deadline = time.time() + 120
        while True:  # some cells enqueued, not all
            try:
                if sum(cells_of(url, "killed").values()) > 5:
                    break
            except (KeyError, StorageError):
                pass
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert sum(cells_of(url, "killed").values()) < 120  # it really died half way
    create_study(spec_from_dict(raw), storage=url)  # the lock died with it: no wait
    assert_each_cell_once(url, raw)


def test_a_reader_waits_for_the_spec_of_a_study_being_created(tmp_path, tiny_spec):
    # Optuna creates a study before its attributes can be set. A dashboard polling at that
    # moment (the flaky test_launch_watch_and_cancel_a_real_run) was told the study "has no
    # stored spec (it was not created by studies)".
    url = f"sqlite:///{tmp_path / 'x.db'}"
    spec = tiny_spec()
    storage = open_storage(url)
    with study_lock(url, storage, "tiny"):
        study = optuna.create_study(study_name="tiny", storage=storage)

        def store_spec() -> None:
            time.sleep(0.5)
            study.set_user_attr(L.SPEC, spec.to_dict())

        writer = threading.Thread(target=store_spec)
        writer.start()
        assert load_spec(url, "tiny") == spec
        writer.join()
    # Without a creator holding the lock, a study with no spec is still refused at once.
    optuna.create_study(study_name="foreign", storage=storage)
    with pytest.raises(StorageError, match="has no stored spec"):
        load_spec(url, "foreign")
