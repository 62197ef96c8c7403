"""The device check's quick CPU form: the same script a GPU machine runs, proven here first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "device_check.py"


def run_check(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_quick_cpu_check_passes_and_prints_one_table_covering_every_section(tmp_path):
    out = tmp_path / "device_check.md"
    done = run_check("--quick", "--device", "cpu", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    lines = done.stdout.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert [line for line in out.read_text().splitlines() if line.startswith("|")] == table
    assert [c.strip() for c in table[0].strip("|").split("|")] == ["section", "check", "result",
                                                                   "status"]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table[2:]]
    assert {r[0] for r in rows} == {"parity", "optim", "sweep", "resnet", "oom"}
    assert all(r[3] in ("PASS", "info") for r in rows), [r for r in rows if r[3] != "PASS"]
    checked = [r[1] for r in rows if r[3] == "PASS"]
    for expected in ("member adam kernel (eager, float64)", "compiled adam kernel: first-call",
                     "population vs single runs (float64", "population vs single runs (float32",
                     "our AdamW vs torch AdamW", "asked as one chunk"):
        assert any(expected in c for c in checked), expected
    sweeps = [r for r in rows if r[0] == "sweep" and " K=" in r[1]]
    assert len(sweeps) == 4 and all("speedup" in r[2] and "of peak" in r[2] for r in sweeps)
    assert any(r[1] == "projected cifar10-resnet preset wall time" for r in rows)
    assert lines[-1].endswith("all checks passed")


def test_an_unknown_device_is_refused_with_status_2():
    done = run_check("--device", "tpu", timeout=120)
    assert done.returncode == 2
    assert "--device" in done.stderr and "tpu" in done.stderr
    assert "Traceback" not in done.stderr
