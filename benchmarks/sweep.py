"""A whole Adam-vs-AdamW landscape trained two ways in one run, side by side.

8 learning rates × 8 weight decays × {Adam, AdamW} = 128 configs of the digits MLP:

(a) one config at a time with ``torch.optim`` in a plain loop (Adam with L2
    ``weight_decay=λ``; AdamW with ``lr=α``, ``weight_decay=λ/α``, the paper's λ), same
    initial weights and data order as (b);
(b) as populations with :func:`core.train.train_population`.

It checks that both give the same test errors, and prints the speedup and the achieved
GFLOP/s against the machine's measured matmul GFLOP/s. The last line is ``speedup: <X>x``.

    python benchmarks/sweep.py [--device cpu|cuda] [--epochs 5] [--loop-configs 128]

``--loop-configs`` times the loop on a subset and scales it to 128 (for slow machines); the
default runs all of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data import load_dataset
from core.models import ModelSpec, build_model
from core.train import TrainConfig, resolve_device, train_population
from core.train._common import DataOrder

LRS = [2.0**e for e in range(-12, -4)]  # α: 2^-12 .. 2^-5
WDS = [2.0**e for e in range(-14, -6)]  # paper λ: 2^-14 .. 2^-7


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """The machine's dense float32 matmul throughput, measured now."""
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    for _ in range(2):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def mlp_macs(input_features: int, widths: tuple[int, ...], classes: int) -> int:
    sizes = [input_features, *widths, classes]
    return sum(a * b for a, b in itertools.pairwise(sizes))


def loop_one(config: TrainConfig, model: ModelSpec, data, device) -> float:
    """Plain torch.optim training of one config; returns the final test error."""
    net = build_model(model, input_shape=data.input_shape, num_classes=data.num_classes,
                      seed=config.seed).to(device)
    decay = [p for p in net.parameters() if p.dim() >= 2]
    rest = [p for p in net.parameters() if p.dim() < 2]
    if config.optimizer == "adamw":
        groups = [{"params": decay, "weight_decay": config.weight_decay / config.lr},
                  {"params": rest, "weight_decay": 0.0}]
        opt = torch.optim.AdamW(groups, lr=config.lr)
    else:
        groups = [{"params": decay, "weight_decay": config.weight_decay},
                  {"params": rest, "weight_decay": 0.0}]
        opt = torch.optim.Adam(groups, lr=config.lr)
    order = DataOrder(config.seed, data, config.batch_size)
    for _ in range(config.epochs):
        net.train()
        for index in order.epoch():
            x, y = order.batch(index)
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        return float((net(data.test_x).argmax(1) != data.test_y).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--loop-configs", type=int, default=128)
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 64],
                        help="hidden widths of the digits MLP")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    model = ModelSpec(name="mlp", widths=tuple(args.widths))
    device = resolve_device(args.device)
    data = load_dataset("digits", split_seed=0).to(device)
    configs = [
        TrainConfig(optimizer=opt, lr=lr, weight_decay=wd, epochs=args.epochs,
                    batch_size=args.batch)
        for opt in ("adam", "adamw") for lr in LRS for wd in WDS
    ]
    n_train, n_test = data.train_x.shape[0], data.test_x.shape[0]
    macs = mlp_macs(64, model.widths, data.num_classes)
    # Training: forward + backward ≈ 3 forward passes; evaluation: forward on val and test
    # every epoch (population) — count only what both paths do: training + final test.
    flops = len(configs) * macs * 2 * (3 * n_train * args.epochs + n_test)
    peak = matmul_gflops(device)
    print(f"torch {torch.__version__} on {device}, {torch.get_num_threads()} threads; "
          f"matmul peak {peak:.1f} GFLOP/s")
    print(f"{len(configs)} configs: digits MLP {model.widths}, batch {args.batch}, "
          f"{args.epochs} epochs, {n_train} training images")

    # Warm-up on the same shapes (compiles the fused optimizer kernel once per machine).
    warm = [dataclasses.replace(c, epochs=1) for c in configs]
    train_population(warm, model=model, data=data, device=device)
    start = time.perf_counter()
    results = train_population(configs, model=model, data=data, device=device)
    population_s = time.perf_counter() - start
    pop_errors = [r.final.test_error for r in results]

    subset = configs[: max(1, min(args.loop_configs, len(configs)))]
    loop_one(subset[0], model, data, device)  # warm-up
    start = time.perf_counter()
    loop_errors = [loop_one(c, model, data, device) for c in subset]
    loop_s = (time.perf_counter() - start) * len(configs) / len(subset)

    diffs = [abs(a - b) for a, b in zip(loop_errors, pop_errors, strict=False)]
    same = sum(d <= 2.0 / n_test + 1e-12 for d in diffs)  # within two test images (float32)
    print(f"(a) loop of torch.optim runs: {loop_s:8.2f} s"
          + ("" if len(subset) == len(configs) else f" (scaled from {len(subset)} configs)"))
    print(f"(b) populations:              {population_s:8.2f} s")
    print(f"test errors agree within 2 test images for {same}/{len(diffs)} configs; "
          f"max |difference| {max(diffs):.4f}; mean test error over them "
          f"{sum(pop_errors[: len(diffs)]) / len(diffs):.4f} (population) vs "
          f"{sum(loop_errors) / len(diffs):.4f} (loop)")
    achieved = flops / population_s / 1e9
    print(f"population throughput: {achieved:.1f} GFLOP/s = {achieved / peak:.0%} of matmul peak")
    print(f"speedup: {loop_s / population_s:.1f}x")


if __name__ == "__main__":
    main()
