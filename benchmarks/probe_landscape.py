"""Probe a candidate demo: train one Adam vs AdamW landscape and print what the page would say.

How the demo preset was chosen (issue: "the demo, chosen by measurement"): each candidate
setting is trained here with the project's own population trainer, then analysed with the
same functions the Landscape page uses (coupling slope with its seed-noise interval, best
cell against best cell), and timed. Example:

    python benchmarks/probe_landscape.py --dataset mnist1d --widths 128 128 --epochs 30 \\
        --lr-exp -12 -5 --wd-exp -11 -4 --seeds 0 1

Prints one line per optimizer and the comparison; exits 0. Nothing is stored.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd

from core.data import load_dataset
from core.models import ModelSpec
from core.schedules import Cosine
from core.train import TrainConfig, train_population
from studies.analysis import (
    TRIAL_COLUMNS,
    compare_best,
    coupling_interval,
    intervals_apart,
    landscape,
    near_best,
    seed_noise,
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mnist1d")
    p.add_argument("--train-size", type=int, default=None)
    p.add_argument("--model", default="mlp")
    p.add_argument("--widths", type=int, nargs="+", default=[128, 128])
    p.add_argument("--channels", type=int, nargs="+", default=[32, 32, 32])
    p.add_argument("--no-norm", action="store_true")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr-exp", type=float, nargs=2, default=[-12, -5])
    p.add_argument("--wd-exp", type=float, nargs=2, default=[-11, -4])
    p.add_argument("--count", type=int, nargs=2, default=[8, 8], metavar=("N_LR", "N_WD"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--metric", default="final_test_error")
    args = p.parse_args()

    data = load_dataset(args.dataset, train_size=args.train_size, val_fraction=0.1)
    model = ModelSpec(name=args.model, widths=tuple(args.widths), channels=tuple(args.channels),
                      norm=not args.no_norm)
    lrs = 2.0 ** np.linspace(*args.lr_exp, args.count[0])
    wds = 2.0 ** np.linspace(*args.wd_exp, args.count[1])
    configs = [
        TrainConfig(optimizer=o, lr=float(a), weight_decay=float(w), seed=s,
                    epochs=args.epochs, batch_size=args.batch_size,
                    schedule=Cosine(epochs=args.epochs))
        for o in ("adam", "adamw") for a in lrs for w in wds for s in args.seeds
    ]
    start = time.perf_counter()
    results = train_population(configs, model=model, data=data, device="cpu")
    seconds = time.perf_counter() - start
    rows = []
    for n, r in enumerate(results):
        c, f = r.config, r.final
        rows.append({
            "study": "probe", "trial": n, "state": "COMPLETE", "optimizer": c.optimizer,
            "schedule": "cosine", "lr": c.lr, "seed": c.seed, "weight_decay": c.weight_decay,
            "wd_convention": "paper", "wd_paper": c.weight_decay,
            "wd_pytorch": c.weight_decay / c.lr, "wd_normalized": math.nan,
            "diverged": r.diverged, "diverged_epoch": r.diverged_epoch,
            "final_test_error": f.test_error if f else math.nan,
            "best_test_error": r.best_test_error, "final_val_error": f.val_error if f else math.nan,
            "best_val_error": r.best_val_error, "final_train_loss": f.train_loss if f else math.nan,
            "final_weight_norm": f.weight_norm if f else math.nan, "duration_s": r.duration_s,
            "epochs_done": len(r.history),
        })
    trials = pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))
    lands = {o: landscape(trials, optimizer=o, metric=args.metric) for o in ("adam", "adamw")}
    intervals = {}
    print(f"{len(configs)} members, {args.epochs} epochs, trained in {seconds:.1f} s")
    for o, land in lands.items():
        iv = intervals[o] = coupling_interval(land)
        best_row = np.nanargmin(np.where(np.isfinite(land.score), land.score, np.nan), axis=1)
        per_row = " ".join(f"{math.log2(land.wd_paper[i, j]):+.0f}"
                           for i, j in enumerate(best_row))
        print(f"{o:6s} best {np.nanmin(land.score):.4f}  slope {iv.slope:+.2f} "
              f"[{iv.low:+.2f}, {iv.high:+.2f}]  near-best {near_best(land).count:2d}  "
              f"noise {seed_noise(land).std:.4f}  best log2 λ per α row: {per_row}")
    cmp_ = compare_best(lands["adamw"], lands["adam"])
    print(f"slopes apart: {intervals_apart(intervals['adam'], intervals['adamw'])};  "
          f"AdamW − Adam best: {cmp_.difference:+.4f} (p = {cmp_.p:.3f})")


if __name__ == "__main__":
    main()
