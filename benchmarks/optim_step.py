"""Optimizer step speed, measured side by side in one run (never asserted in a test).

1. One model, ≥ 8M float32 parameters in several tensors: our AdamW step against
   ``torch.optim.AdamW(fused=True)`` and ``(foreach=True)`` on the same tensors.
2. A population: one K-member step on stacked small models (per-member α_k, λ_k, and
   L2-or-decoupled flags) against K separate fused ``torch.optim`` Adam/AdamW steps. The
   member step is the population trainer's: the fused (compiled) kernel over the members'
   flat (K, P) parameters; the same kernel run eagerly is shown for comparison.

Timings interleave the contenders round by round and report medians, because this machine is
shared and noisy. The last line printed is ``ratio_vs_fused: <X>`` (our single-model step
time divided by torch's fused step time; lower is better, 1.0 is parity).

    python benchmarks/optim_step.py [--device cpu|cuda] [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.optim import AdamW, member_adam_step

BIG_SHAPES = [(2048, 2048), (1024, 2048), (2048, 1024), (512, 1024), (2048,), (1024,), (10, 2048)]
SMALL_SHAPES = [(64, 64), (64,), (64, 64), (64,), (10, 64), (10,)]  # the digits MLP (64, 64)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_interleaved(
    contenders: dict[str, Callable[[], None]], *, rounds: int, device: torch.device
) -> dict[str, float]:
    """Median seconds per call of each contender, called in turn every round."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():  # warm-up: allocate state, compile kernels
        fn()
        fn()
    for _ in range(rounds):
        for name, fn in contenders.items():
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def make_params(shapes, device, seed=0) -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    params = []
    for shape in shapes:
        p = torch.nn.Parameter(torch.randn(shape, generator=gen).to(device))
        p.grad = torch.randn(shape, generator=gen).to(device) * 1e-2
        params.append(p)
    return params


def single_model(device: torch.device, rounds: int) -> float:
    alpha, lam = 1e-3, 1e-2  # paper λ; torch's wd = λ/α
    ours_p, fused_p, foreach_p = (make_params(BIG_SHAPES, device) for _ in range(3))
    n = sum(p.numel() for p in ours_p)
    ours = AdamW(ours_p, lr=alpha, weight_decay=lam)
    fused = torch.optim.AdamW(fused_p, lr=alpha, weight_decay=lam / alpha, fused=True)
    foreach = torch.optim.AdamW(foreach_p, lr=alpha, weight_decay=lam / alpha, foreach=True)
    med = time_interleaved(
        {"ours": ours.step, "torch fused": fused.step, "torch foreach": foreach.step},
        rounds=rounds, device=device,
    )
    print(f"single model: {n / 1e6:.1f}M parameters in {len(BIG_SHAPES)} tensors on {device}")
    for name, seconds in med.items():
        print(f"  {name:<14} {seconds * 1e3:8.2f} ms/step")
    ratio = med["ours"] / med["torch fused"]
    print(f"  ours / torch fused   = {ratio:.3f}")
    print(f"  ours / torch foreach = {med['ours'] / med['torch foreach']:.3f}")
    return ratio


def population(device: torch.device, rounds: int, k: int = 128) -> float:
    gen = torch.Generator().manual_seed(1)
    lrs = torch.logspace(-4, -1, k, base=10).to(device)
    wds = torch.logspace(-5, -1, k, base=10)[torch.randperm(k, generator=gen)].to(device)
    decoupled = (torch.arange(k) % 2 == 0).to(device)

    stacked = [torch.randn((k, *s), generator=gen).to(device) for s in SMALL_SHAPES]
    grads = [torch.randn_like(p) * 1e-2 for p in stacked]
    flat = torch.cat([p.reshape(k, -1) for p in stacked], dim=1)
    flat_grad = torch.cat([g.reshape(k, -1) for g in grads], dim=1)
    active = torch.ones(k, dtype=torch.bool, device=device)

    def kernel_step(compiled: bool | None) -> Callable[[], None]:
        p, m, v = flat.clone(), torch.zeros_like(flat), torch.zeros_like(flat)
        step = torch.zeros((), device=device)
        return lambda: member_adam_step(p, flat_grad, m, v, step, lr=lrs, weight_decay=wds,
                                        decoupled=decoupled, active=active, eta=1.0,
                                        beta1=0.9, beta2=0.999, eps=1e-8, compiled=compiled)

    member_step, reference_step = kernel_step(None), kernel_step(False)  # None: as training
    separate = []
    for i in range(k):
        params = make_params(SMALL_SHAPES, device, seed=100 + i)
        alpha, lam = float(lrs[i]), float(wds[i])
        if decoupled[i]:
            opt = torch.optim.AdamW(params, lr=alpha, weight_decay=lam / alpha, fused=True)
        else:
            opt = torch.optim.Adam(params, lr=alpha, weight_decay=lam, fused=True)
        separate.append(opt)

    def separate_steps() -> None:
        for opt in separate:
            opt.step()

    member_step()  # compiles the fused kernel (once per machine; cached on disk)
    med = time_interleaved({"member axis": member_step, "reference": reference_step,
                            "separate": separate_steps}, rounds=rounds, device=device)
    n = sum(p[0].numel() for p in stacked)
    print(f"population: K={k} members of a {n / 1e3:.1f}k-parameter MLP on {device}")
    print(f"  one member-axis step (fused)   {med['member axis'] * 1e3:8.2f} ms")
    print(f"  one member-axis step (eager)   {med['reference'] * 1e3:8.2f} ms")
    print(f"  {k} separate fused torch steps {med['separate'] * 1e3:8.2f} ms")
    speedup = med["separate"] / med["member axis"]
    print(f"  member-axis speedup = {speedup:.2f}x")
    return speedup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    population(device, args.rounds)
    ratio = single_model(device, args.rounds)
    print(f"ratio_vs_fused: {ratio:.3f}")


if __name__ == "__main__":
    main()
