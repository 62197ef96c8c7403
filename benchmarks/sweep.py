"""A whole Adam-vs-AdamW landscape trained two ways in one run, side by side.

K = 2·n² configs: {Adam, AdamW} × n learning rates α (2^-12 … 2^-5) × n weight decays (paper
λ, 2^-14 … 2^-7); the default K = 128 is the 8 × 8 grid. Trained

(a) one config at a time with ``torch.optim`` in a plain loop (Adam with L2
    ``weight_decay=λ``; AdamW with ``lr=α``, ``weight_decay=λ/α``, the paper's λ), same
    initial weights and data order as (b);
(b) as populations with :func:`core.train.train_population`.

It checks that both give the same test errors, and prints the speedup and the achieved
GFLOP/s against the machine's matmul GFLOP/s, measured before and after the population (the
better of the two: a shared machine's peak is noisy, and the ratio should not flatter us). The
last line is ``speedup: <X>x``. Before it, the cost of the equilibrium telemetry: the
population timed with and without it (``train_population(telemetry=...)``), alternating
(ABBA), ``--telemetry-repeats`` times each (best of each), and the ratio.

    python benchmarks/sweep.py [--device cpu|cuda] [--dataset digits|mnist1d] [--k 128]
        [--widths 64 64] [--norm] [--batch 64] [--epochs 5] [--loop-configs 128] [--threads N]
        [--telemetry-repeats 3]

``--loop-configs`` times the loop on a subset and scales it to K (for slow machines); the
default runs all of them. ``--dataset mnist1d`` uses the generated MNIST-1D set when the
``mnist1d`` package can make it, else tensors of its shape (say so in the output).
:mod:`benchmarks.device_check` reuses these helpers.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data import DatasetUnavailableError, DataSplits, load_dataset
from core.models import ModelSpec, build_model
from core.train import TrainConfig, resolve_device, train_population
from core.train._common import DataOrder

LR_EXPONENTS = (-12, -5)  # α: 2^-12 .. 2^-5
WD_EXPONENTS = (-14, -7)  # paper λ: 2^-14 .. 2^-7


def landscape(k: int, *, epochs: int, batch_size: int) -> list[TrainConfig]:
    """K = 2·n² configs: Adam and AdamW, each on the n × n grid of α × paper λ (log₂ spaced)."""
    n = math.isqrt(k // 2)
    if k < 2 or 2 * n * n != k:
        raise ValueError(f"k must be 2·n² (8, 32, 128, 512, 2048, ...), got {k}")

    def grid(lo: int, hi: int) -> list[float]:
        return [2.0 ** (lo + (hi - lo) * i / max(1, n - 1)) for i in range(n)]

    return [
        TrainConfig(optimizer=opt, lr=lr, weight_decay=wd, epochs=epochs, batch_size=batch_size)
        for opt in ("adam", "adamw")
        for lr in grid(*LR_EXPONENTS)
        for wd in grid(*WD_EXPONENTS)
    ]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 10, trials: int = 3
                  ) -> float:
    """The device's dense float32 matmul throughput, measured now: best of ``trials``."""
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    for _ in range(2):
        a @ b
    best = 0.0
    for _ in range(trials):
        sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        sync(device)
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def mlp_macs(input_features: int, widths: tuple[int, ...], classes: int) -> int:
    sizes = [input_features, *widths, classes]
    return sum(a * b for a, b in itertools.pairwise(sizes))


def landscape_flops(n_configs: int, model: ModelSpec, data: DataSplits, epochs: int) -> float:
    """Matmul FLOPs both paths do: training (forward + backward ≈ 3 forward passes) and the
    final test pass. The population also evaluates every epoch; that is not counted."""
    macs = mlp_macs(math.prod(data.input_shape), model.widths, data.num_classes)
    n_train, n_test = data.train_x.shape[0], data.test_x.shape[0]
    return n_configs * macs * 2 * (3 * n_train * epochs + n_test)


def mnist1d_shaped(device: torch.device, *, n_train: int = 3600, n_val: int = 400,
                   n_test: int = 1000, seed: int = 0) -> DataSplits:
    """Tensors of MNIST-1D's shape (10 classes, (1, 40) signals, its standard split sizes).

    A stand-in for throughput measurements where the ``mnist1d`` generator is not installed:
    each class is a fixed smooth random template, shifted at random and buried in noise, so the
    task is learnable but not trivial. Not the real data: no error rate from it means anything.
    """
    gen = torch.Generator().manual_seed(seed)
    templates = torch.randn(10, 1, 60, generator=gen).cumsum(-1)
    templates = (templates - templates.mean(-1, keepdim=True)) / templates.std(-1, keepdim=True)

    def part(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % 10
        shift = torch.randint(0, 21, (n,), generator=gen)
        index = shift[:, None] + torch.arange(40)[None, :]
        x = torch.gather(templates[y, 0], 1, index)[:, None, :]
        return (x + 0.8 * torch.randn(x.shape, generator=gen)).to(device), y.to(device)

    (tx, ty), (vx, vy), (sx, sy) = part(n_train), part(n_val), part(n_test)
    return DataSplits(name="mnist1d-shaped", train_x=tx, train_y=ty, val_x=vx, val_y=vy,
                      test_x=sx, test_y=sy, num_classes=10, input_shape=(1, 40), augment=None)


def load_benchmark_data(name: str, device: torch.device,
                        data_dir: str | None = None) -> tuple[DataSplits, str]:
    """(data, where it came from). ``mnist1d`` falls back to :func:`mnist1d_shaped` tensors."""
    if name != "mnist1d":
        return load_dataset(name, split_seed=0, data_dir=data_dir).to(device), name
    try:
        data = load_dataset("mnist1d", split_seed=0, data_dir=data_dir, download=False)
        return data.to(device), "mnist1d"
    except (ImportError, ValueError, DatasetUnavailableError, OSError) as error:
        reason = type(error).__name__
        return mnist1d_shaped(device), f"mnist1d-shaped tensors (generator unavailable: {reason})"


def loop_one(config: TrainConfig, model: ModelSpec, data: DataSplits, device) -> float:
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


@dataclasses.dataclass
class SweepResult:
    k: int
    population_s: float
    loop_s: float  # for all K configs (scaled when timed on a subset)
    loop_timed: int  # configs the loop actually ran
    agree: int  # of the timed configs, test errors within two test images
    max_diff: float
    gflops: float  # population throughput (matmul FLOPs of training + final test)

    @property
    def speedup(self) -> float:
        return self.loop_s / self.population_s


def run_sweep(configs: list[TrainConfig], model: ModelSpec, data: DataSplits,
              device: torch.device, *, loop_configs: int) -> SweepResult:
    """Time the population and the loop (on the first ``loop_configs`` configs, scaled)."""
    # Warm-up on the same shapes (compiles the fused optimizer kernel once per machine).
    warm = [dataclasses.replace(c, epochs=1) for c in configs]
    train_population(warm, model=model, data=data, device=device)
    sync(device)
    start = time.perf_counter()
    results = train_population(configs, model=model, data=data, device=device)
    sync(device)
    population_s = time.perf_counter() - start
    pop_errors = [r.final.test_error if r.final else math.nan for r in results]

    subset = configs[: max(1, min(loop_configs, len(configs)))]
    loop_one(subset[0], model, data, device)  # warm-up
    sync(device)
    start = time.perf_counter()
    loop_errors = [loop_one(c, model, data, device) for c in subset]
    sync(device)
    loop_s = (time.perf_counter() - start) * len(configs) / len(subset)

    n_test = data.test_x.shape[0]
    diffs = [abs(a - b) for a, b in zip(loop_errors, pop_errors, strict=False)]
    agree = sum(d <= 2.0 / n_test + 1e-12 for d in diffs)  # within two test images (float32)
    flops = landscape_flops(len(configs), model, data, configs[0].epochs)
    return SweepResult(k=len(configs), population_s=population_s, loop_s=loop_s,
                       loop_timed=len(subset), agree=agree, max_diff=max(diffs),
                       gflops=flops / population_s / 1e9)


def telemetry_overhead(configs: list[TrainConfig], model: ModelSpec, data: DataSplits,
                       device: torch.device, *, repeats: int) -> tuple[float, float]:
    """(best seconds without, best seconds with) the telemetry, runs alternating in ABBA order
    so that both see the same machine state and neither always runs first."""
    times: dict[bool, list[float]] = {False: [], True: []}
    for i in range(repeats):
        for on in ((False, True) if i % 2 == 0 else (True, False)):
            sync(device)
            start = time.perf_counter()
            train_population(configs, model=model, data=data, device=device, telemetry=on)
            sync(device)
            times[on].append(time.perf_counter() - start)
    return min(times[False]), min(times[True])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dataset", default="digits", choices=["digits", "mnist1d"])
    parser.add_argument("--k", type=int, default=128, help="configs: 2·n² (8, 32, 128, 512…)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--loop-configs", type=int, default=128)
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 64],
                        help="hidden widths of the MLP")
    parser.add_argument("--norm", action="store_true", help="BatchNorm after each hidden layer")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--telemetry-repeats", type=int, default=3,
                        help="timings with and without the telemetry (0: skip)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's choice)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    model = ModelSpec(name="mlp", widths=tuple(args.widths), norm=args.norm)
    device = resolve_device(args.device)
    data, source = load_benchmark_data(args.dataset, device)
    configs = landscape(args.k, epochs=args.epochs, batch_size=args.batch)
    peak_before = matmul_gflops(device)
    print(f"torch {torch.__version__} on {device}, {torch.get_num_threads()} threads")
    print(f"{len(configs)} configs: {source} MLP {model.widths}{' + BatchNorm' * model.norm}, "
          f"batch {args.batch}, {args.epochs} epochs, {data.train_x.shape[0]} training samples")
    result = run_sweep(configs, model, data, device, loop_configs=args.loop_configs)
    peak = max(peak_before, matmul_gflops(device))
    print(f"matmul peak {peak:.1f} GFLOP/s (best of before/after the population)")
    scaled = "" if result.loop_timed == result.k else f" (scaled from {result.loop_timed} configs)"
    print(f"(a) loop of torch.optim runs: {result.loop_s:8.2f} s{scaled}")
    print(f"(b) populations:              {result.population_s:8.2f} s")
    print(f"test errors agree within 2 test images for {result.agree}/{result.loop_timed} "
          f"configs; max |difference| {result.max_diff:.4f}")
    print(f"population throughput: {result.gflops:.1f} GFLOP/s = {result.gflops / peak:.0%} "
          f"of matmul peak")
    if args.telemetry_repeats > 0:
        off, on = telemetry_overhead(configs, model, data, device, repeats=args.telemetry_repeats)
        print(f"telemetry: population {off:.2f} s without, {on:.2f} s with (best of "
              f"{args.telemetry_repeats} each, ABBA): ratio {on / off:.3f} "
              f"({on / off - 1:+.1%})")
    print(f"speedup: {result.speedup:.1f}x")


if __name__ == "__main__":
    main()
