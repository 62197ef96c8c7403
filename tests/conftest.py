"""Fixtures for the storage, runner, CLI and many-worker tests: tiny specs, a clean
environment for subprocesses, and a real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pg import postgres_server

from studies.spec import StudySpec, spec_from_dict

ROOT = Path(__file__).resolve().parent.parent


def tiny_spec_dict(**overrides: Any) -> dict[str, Any]:
    """A grid spec that trains in about a second: digits (100 images), MLP [16], 2 epochs,
    Adam vs AdamW on 2 × 2 cells."""
    spec: dict[str, Any] = {
        "name": "tiny",
        "data": {"dataset": "digits", "train_size": 100},
        "model": {"name": "mlp", "widths": [16], "norm": False},
        "optimizers": ["adam", "adamw"],
        "lr": {"values": [0.001, 0.01]},
        "weight_decay": {"convention": "paper", "values": [0.0001, 0.01]},
        "epochs": 2,
        "batch_size": 50,
        "seeds": [0],
        "device": "cpu",
    }
    spec.update(overrides)
    return spec


@pytest.fixture
def tiny_spec() -> Callable[..., StudySpec]:
    """``tiny_spec(**overrides)``: :func:`tiny_spec_dict` validated into a StudySpec."""
    return lambda **overrides: spec_from_dict(tiny_spec_dict(**overrides))


@pytest.fixture
def tiny_dict() -> Callable[..., dict[str, Any]]:
    """``tiny_dict(**overrides)``: the mapping of :func:`tiny_spec_dict` (for YAML files)."""
    return tiny_spec_dict


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Environment for subprocesses: the repo importable, data and default storage in tmp,
    short heartbeats (1 s, stale after 3 s), one PyTorch thread per process."""
    out = dict(os.environ)
    out["PYTHONPATH"] = str(ROOT) + os.pathsep + out.get("PYTHONPATH", "")
    out["WDLAB_HOME"] = str(tmp_path / "home")
    out.pop("WDLAB_STORAGE", None)
    out["WDLAB_HEARTBEAT_INTERVAL"] = "1"
    out["WDLAB_GRACE_PERIOD"] = "3"
    out["PYTHONWARNINGS"] = "ignore"
    # Several workers share 2 cores in these tests; PyTorch threads of each would spin.
    out["OMP_NUM_THREADS"] = "1"
    return out


@pytest.fixture
def short_heartbeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Heartbeats every second, stale after 3 s, for in-process workers."""
    from studies.storage import forget_storages

    monkeypatch.setenv("WDLAB_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setenv("WDLAB_GRACE_PERIOD", "3")
    forget_storages()


@pytest.fixture
def cli(env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli(*args, timeout=120)``: ``python -m studies ARGS`` in a subprocess with
    :func:`env`; output captured as text."""

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "studies", *args],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        )

    return run


@pytest.fixture
def spawn_worker(env: dict[str, str]) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``spawn_worker(url, study, log=PATH, max_members=K)``: ``python -m studies worker``
    in the background; any still running at the end of the test are killed (by PID)."""
    started: list[subprocess.Popen[str]] = []
    files: list[Any] = []

    def spawn(url: str, study: str, *, log: Path | None = None,
              max_members: int | None = None) -> subprocess.Popen[str]:
        args = [sys.executable, "-m", "studies", "worker", "--storage", url, "--study", study,
                "--no-progress"]
        if max_members is not None:
            args += ["--max-members", str(max_members)]
        out: Any = subprocess.DEVNULL
        if log is not None:
            out = open(log, "w")  # noqa: SIM115 - closed at teardown
            files.append(out)
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                text=True)
        started.append(proc)
        return proc

    yield spawn
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    for f in files:
        f.close()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL server for the module (see tests/pg.py); stopped afterwards."""
    with postgres_server() as url:
        yield url
