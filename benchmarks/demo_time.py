"""Time the demo end to end as a user meets it: first ever (cold) and again (warm).

Runs ``python -m studies run demo`` twice, each into a fresh SQLite file:

* cold: empty torch compile cache (``TORCHINDUCTOR_CACHE_DIR``) and empty data directory
  (``WDLAB_DATA_DIR``: MNIST-1D is generated on first use), as on a fresh machine;
* warm: the same caches again, now filled.

Prints both wall times and their ratio (the goal: cold ≤ 2 × warm). Everything it writes lives
in a temporary directory that is removed afterwards. Run it on a quiet machine:

    python benchmarks/demo_time.py [--preset demo] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(preset: str, work: Path, tag: str, env: dict[str, str]) -> float:
    storage = f"sqlite:///{work / f'{tag}.db'}"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "studies", "run", preset, "--storage", storage, "--device", "cpu"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{tag} run failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP_NUM_THREADS for the runs (default: torch's own choice)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wdlab-demo-time-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=str(work / "inductor"),
                   WDLAB_DATA_DIR=str(work / "data"), WDLAB_HOME=str(work / "home"))
        if args.threads:
            env["OMP_NUM_THREADS"] = str(args.threads)
        cold = run_once(args.preset, work, "cold", env)
        warm = run_once(args.preset, work, "warm", env)
    print(f"preset {args.preset}: cold {cold:.1f} s, warm {warm:.1f} s, "
          f"cold/warm {cold / warm:.2f}")


if __name__ == "__main__":
    main()
