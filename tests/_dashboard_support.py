"""Shared helpers of the dashboard tests: tiny studies trained in-process, temp storages."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")

TINY_GRID: dict[str, Any] = {
    "name": "tiny",
    "description": "A tiny grid for tests: <b>escaped</b> in reports.",
    "data": {"dataset": "digits", "train_size": 120, "val_fraction": 0.2},
    "model": {"name": "mlp", "widths": [8]},
    "optimizers": ["adam", "adamw"],
    "lr": {"values": [0.001, 0.01]},
    "weight_decay": {"convention": "paper", "values": [0.0, 0.001, 0.01]},
    "epochs": 2,
    "batch_size": 32,
    "seeds": [0],
    "device": "cpu",
}

TINY_TUNE: dict[str, Any] = {
    "name": "tiny-tune",
    "mode": "tune",
    "data": {"dataset": "digits", "train_size": 120, "val_fraction": 0.2},
    "model": {"name": "mlp", "widths": [8]},
    "optimizers": ["adamw"],
    "weight_decay": {"convention": "paper"},
    "epochs": 2,
    "batch_size": 32,
    "seeds": [0],
    "device": "cpu",
    "tune": {
        "sampler": "random",
        "n_trials": 4,
        "pruner": "none",
        "trials_per_batch": 2,
        "lr": {"min": 0.0005, "max": 0.05},
        "weight_decay": {"min": 0.0001, "max": 0.05},
    },
}


def use_temp_storage(monkeypatch: Any, home: Path) -> str:
    """Point the dashboard and the CLI at a fresh SQLite file under ``home``."""
    url = f"sqlite:///{home / 's.db'}"
    monkeypatch.setenv("WDLAB_HOME", str(home))
    monkeypatch.setenv("WDLAB_STORAGE", url)
    monkeypatch.delenv("WDLAB_READ_ONLY", raising=False)
    return url


def train_study(url: str, raw: dict[str, Any], **changes: Any) -> str:
    """Create and fully train a (tiny) study in this process; returns its name."""
    from studies.runner import create_study, run_worker
    from studies.spec import spec_from_dict

    spec = spec_from_dict({**raw, **changes})
    name = create_study(spec, storage=url)
    run_worker(storage=url, study_name=name)
    return name


def kill_recorded_runs(home: Path) -> None:
    """Stop every process the dashboard recorded under ``home`` (test cleanup)."""
    registry = home / "dashboard" / "runs.json"
    if not registry.exists():
        return
    for record in json.loads(registry.read_text()).values():
        pid = record.get("pid")
        if not isinstance(pid, int):
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def texts(elements: Any) -> list[str]:
    return [str(e.value) for e in elements]


def plotly_array(value: Any) -> np.ndarray:
    """A figure-JSON array as numpy: plain lists, or Plotly's base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape:
            data = data.reshape([int(n) for n in str(shape).split(",")])
        return data.astype(float)
    return np.array(value, dtype=float)  # None (JSON null) becomes NaN


def fake_run(home: Path, url: str, study: str) -> subprocess.Popen[bytes]:
    """Record a harmless long-running process (``sleep``) as the dashboard's run of ``study``,
    to test what the pages do while a study runs without training anything."""
    import dataclasses
    import time

    from studies.dashboard._runs import RunRecord, _proc_stat, storage_key

    proc = subprocess.Popen(["sleep", "600"], start_new_session=True)
    record = RunRecord(study=study, storage_key=storage_key(url), storage_shown=url,
                       kind="run", pid=proc.pid, start_ticks=(_proc_stat(proc.pid) or (0, None))[1],
                       started=time.time(), log=str(home / "fake.log"),
                       console=str(home / "fake.console.txt"), command=("sleep", "600"))
    registry = home / "dashboard" / "runs.json"
    registry.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(registry.read_text()) if registry.exists() else {}
    data[f"{storage_key(url)}/{study}"] = dataclasses.asdict(record)
    registry.write_text(json.dumps(data))
    return proc
