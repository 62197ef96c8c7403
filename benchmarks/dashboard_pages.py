"""Server-side time to build the Landscape and Studies pages of a 10,000-trial study.

Builds (or reuses, with ``--db``) an SQLite study laid out exactly as the runner stores one:
SGD, SGDW, Adam and AdamW on a 50 × 50 grid of learning rate × weight decay, every trial
finished, with metrics, 24-epoch curves and intermediate values. Then it runs the pages with
Streamlit's AppTest (the page scripts as the server runs them, without a browser) and prints
the time of each page run: a cold run (nothing cached: the study is read from the storage)
and a warm run (the study unchanged), and a breakdown of the cold run's main steps. Goal:
under 2 s per page.

    python benchmarks/dashboard_pages.py [--db PATH] [--trials 10000]

The last lines are ``landscape: cold X s, warm Y s`` and ``studies: cold X s, warm Y s``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EPOCHS = 24
STUDY = "bench"


def spec_dict(side: int) -> dict:
    return {
        "name": STUDY,
        "description": f"Benchmark: 4 optimizers × {side} × {side} cells, every trial finished.",
        "data": {"dataset": "digits", "train_size": 1000},
        "model": {"name": "mlp", "widths": [64]},
        "optimizers": ["sgd", "sgdw", "adam", "adamw"],
        "lr": {"min": 2.0**-14, "max": 2.0**-1, "count": side},
        "weight_decay": {"convention": "paper", "min": 2.0**-16, "max": 2.0**-3,
                         "count": side},
        "epochs": EPOCHS,
        "batch_size": 64,
        "seeds": [0],
    }


def build(url: str, n_trials: int) -> None:
    """Write a finished study of ``n_trials`` trials (4 optimizers × side²) in bulk."""
    import numpy as np
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.trial import TrialState

    from studies.spec import spec_from_dict
    from studies.storage import SCHEMA_VERSION, cell_key, open_storage
    from studies.storage import layout as L

    side = round(math.sqrt(n_trials / 4))
    spec = spec_from_dict(spec_dict(side))
    storage = open_storage(url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=STUDY, storage=storage, direction="minimize")
    for key, value in {
        L.SPEC: spec.to_dict(), L.SCHEMA: SCHEMA_VERSION, L.MODE: "grid",
        L.CREATED: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        L.TRAIN_SIZE: 1000, L.CELLS_TOTAL: spec.n_cells, L.CELLS_ENQUEUED: True,
    }.items():
        study.set_user_attr(key, value)
    distributions = {
        "optimizer": CategoricalDistribution(list(spec.optimizers)),
        "lr": FloatDistribution(2.0**-14, 2.0**-1, log=True),
        "weight_decay": FloatDistribution(0.0, 2.0**-3),
        "seed": IntDistribution(0, 0),
        "schedule": CategoricalDistribution(["constant"]),
    }
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    trials = []
    for k, cell in enumerate(spec.cells()):
        a, w = math.log2(cell.lr), math.log2(cell.weight_decay)
        valley = w + a if cell.optimizer in ("sgd", "adam") else w
        err = 0.05 + 0.002 * (a + 8) ** 2 + 0.003 * (valley + 12) ** 2 + rng.normal(0, 0.003)
        diverged = a > -2 and cell.optimizer.startswith("sgd")
        curve = [err + 0.5 * math.exp(-e / 4) for e in range(1, EPOCHS + 1)]
        metrics = {"final_test_error": err, "best_test_error": err, "final_val_error": err,
                   "best_val_error": err, "final_train_loss": err / 2,
                   "final_weight_norm": 1.0, "epochs_done": EPOCHS, "duration_s": 10.0,
                   "train_size": 1000}
        curves = {"epoch": list(range(1, EPOCHS + 1)), "train_loss": curve,
                  "train_error": curve, "val_error": curve, "test_error": curve,
                  "eta": [1.0] * EPOCHS, "weight_norm": [1.0] * EPOCHS,
                  "elapsed_s": [0.4 * e for e in range(1, EPOCHS + 1)]}
        trials.append(optuna.trial.create_trial(
            state=TrialState.COMPLETE,
            value=1.0 if diverged else err,
            params={"optimizer": cell.optimizer, "lr": cell.lr,
                    "weight_decay": cell.weight_decay, "seed": 0, "schedule": "constant"},
            distributions=distributions,
            user_attrs={L.CELL: cell_key(optimizer=cell.optimizer, lr=cell.lr,
                                         weight_decay=cell.weight_decay, seed=0,
                                         schedule="constant"),
                        L.SEED: 0, L.SCHEDULE: "constant", L.WD_CONVENTION: "paper",
                        L.DIVERGED: diverged, L.DIVERGED_EPOCH: 3 if diverged else None,
                        L.METRICS: metrics, L.CURVES: curves},
            intermediate_values={e: v for e, v in enumerate(curve, start=1)},
        ))
        if len(trials) == 500 or k == spec.n_cells - 1:
            study.add_trials(trials)
            trials = []
            print(f"  wrote {k + 1} / {spec.n_cells} trials ({time.perf_counter() - start:.0f} s)",
                  flush=True)


def page_times(page: str, *, runs: int = 2) -> list[float]:
    """Seconds of each run of ``page`` after a first run of Home, as a visitor would: the
    first with every cache cleared, then with the study unchanged."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["study"] = STUDY
    at.run()
    at.switch_page(f"views/{page}.py")
    st.cache_data.clear()  # cold: the page reads the study from the storage
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
        if at.exception or [e for e in at.error if "went wrong" in str(e.value)]:
            raise SystemExit(f"{page} failed: {[e.value for e in at.exception]}")
    return times


def breakdown(url: str) -> None:
    from studies import dashboard as dash
    from studies.analysis import summary
    from studies.export import trials_frame
    from studies.plots import landscape_figure
    from studies.storage import list_studies

    steps = {}
    t = time.perf_counter()
    trials = trials_frame(url, STUDY)
    steps["trials_frame (read 10,000 trials)"] = time.perf_counter() - t
    t = time.perf_counter()
    lands = dash.landscapes(trials)
    steps["landscapes (4 × 50 × 50)"] = time.perf_counter() - t
    t = time.perf_counter()
    fig = dash.add_click_layer(landscape_figure(lands), lands)
    steps["landscape figure + click layer"] = time.perf_counter() - t
    t = time.perf_counter()
    fig.to_json()
    steps["figure to JSON"] = time.perf_counter() - t
    t = time.perf_counter()
    summary(trials)
    steps["summary (basin, coupling)"] = time.perf_counter() - t
    t = time.perf_counter()
    list_studies(url)
    steps["list_studies"] = time.perf_counter() - t
    t = time.perf_counter()
    dash.signature(url, STUDY)
    steps["signature (cache key)"] = time.perf_counter() - t
    for name, seconds in steps.items():
        print(f"  {name:40s} {seconds:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="SQLite file to build or reuse (default: a temp file)")
    parser.add_argument("--trials", type=int, default=10_000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="wdlab-bench-"))
    db = Path(args.db) if args.db else home / "bench.db"
    url = f"sqlite:///{db.resolve()}"
    os.environ["WDLAB_HOME"] = str(home)
    os.environ["WDLAB_STORAGE"] = url
    os.environ.pop("WDLAB_READ_ONLY", None)
    if not db.exists():
        print(f"building {args.trials} finished trials in {db} ...", flush=True)
        build(url, args.trials)
    from studies.storage import list_studies

    (info,) = [i for i in list_studies(url) if i.name == STUDY]
    print(f"study {STUDY}: {info.cells_done} finished trials")
    print("cold-run breakdown:")
    breakdown(url)
    results = {}
    for page in ("landscape", "study_list"):
        cold, warm = page_times(page)
        results[page] = (cold, warm)
    for page, (cold, warm) in results.items():
        verdict = "ok" if max(cold, warm) < 2.0 else "over the 2 s goal"
        print(f"{page}: cold {cold:.2f} s, warm {warm:.2f} s ({verdict})")


if __name__ == "__main__":
    main()
