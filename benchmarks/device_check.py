"""One command that checks this project on a device and prints one table.

    python benchmarks/device_check.py [--device auto|cpu|cuda] [--quick] [--out FILE]
        [--sections parity optim sweep resnet oom] [--data-dir DIR] [--preset-cells 64 ...]

Sections (each row: section, check, result, and PASS / FAIL, or ``info`` for a measurement):

1. parity: the population's member kernels (Adam and SGD families) against the per-tensor
   reference in float64 and, compiled, in float32; whether the compiled kernel passed its
   first-call check against the eager one; population members against single runs
   (float64 to 1e-9, float32 to a float tolerance).
2. optim: our AdamW step against ``torch.optim.AdamW(fused=True)`` on the device (foreach
   where fused is not supported): same parameters, and the time ratio.
3. sweep: Adam/AdamW landscapes of K configs (digits MLP 64-64; MNIST-1D MLP 128-128 with
   BatchNorm) as populations, against a torch.optim loop timed on a subset and extrapolated to
   K; speedup, achieved TFLOP/s and the share of the device's measured matmul peak.
4. resnet: ResNet-20 populations on CIFAR-10-shaped tensors generated on the device: images/s
   per member and in total, peak memory, and the projected wall time of the
   ``cifar10-resnet`` preset.
5. oom: a population too large for memory is halved and completes (a real allocation
   failure on CUDA; simulated on the CPU, which has no allocator limit).

Exits 1 when any row fails (a parity check, or a section that raised), else 0. Progress goes
to stderr, the table to stdout. Sized for ≤ 8 minutes on one H200 and, with ``--quick
--device cpu``, ≤ 2 minutes on two CPU cores (CI runs that form). It imports only ``core``,
``benchmarks``, torch and numpy, so it runs on a bare GPU machine; MNIST-1D falls back to
tensors of its shape when its generator is not installed (the table says which).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.optim_step import BIG_SHAPES, make_params, time_interleaved
from benchmarks.sweep import (
    landscape,
    load_benchmark_data,
    matmul_gflops,
    run_sweep,
    sync,
)
from core.data import DataSplits, load_dataset
from core.models import ModelSpec
from core.optim import AdamW, adam_reference, member_adam_step, member_sgd_step, sgd_reference
from core.schedules import Cosine
from core.train import TrainConfig, resolve_device, train_population, train_single
from core.train import _population as population_module

# The cifar10-resnet preset (studies/presets/cifar10-resnet.yaml), whose wall time section 4
# projects: 4 optimizers × 4 α × 4 λ_norm = 64 cells, 100 epochs, batch 128, on CIFAR-10's
# 50,000 training images less the 10 % validation, evaluating validation and test (10,000)
# every epoch. Members share a population only within a family (Adam/AdamW, SGD/SGDW), so
# its populations have 32 members. Passed as options so the check never imports studies/.
PRESET = {"cells": 64, "population": 32, "epochs": 100, "train": 45_000, "eval": 15_000,
          "batch": 128}


@dataclasses.dataclass
class Row:
    section: str
    check: str
    result: str
    status: str  # "PASS", "FAIL" or "info"


class Table:
    """The rows so far; a section that raises becomes one FAIL row and the rest still run."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, section: str, check: str, result: str, ok: bool | None = None) -> None:
        status = "info" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append(Row(section, check, result, status))
        print(f"[device_check] {section}: {check}: {result} [{status}]", file=sys.stderr,
              flush=True)

    def run(self, section: str, fn: Callable[[], None]) -> None:
        start = time.perf_counter()
        try:
            fn()
        except Exception as error:  # the table must still print: report, go on
            traceback.print_exc(file=sys.stderr)
            self.add(section, "section raised", f"{type(error).__name__}: {error}"[:160], False)
        self.add(section, "section time", f"{time.perf_counter() - start:.1f} s")

    @property
    def failed(self) -> bool:
        return any(r.status == "FAIL" for r in self.rows)

    def render(self) -> str:
        headers = ("section", "check", "result", "status")
        cells = [headers, *((r.section, r.check, r.result, r.status) for r in self.rows)]
        widths = [max(len(c[i]) for c in cells) for i in range(4)]
        def line(c):
            return "| " + " | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)) + " |"

        rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(headers), rule, *(line(c) for c in cells[1:])])


def max_rel_diff(got: torch.Tensor, want: torch.Tensor) -> float:
    return float(((got - want).abs() / want.abs().clamp_min(1e-3)).max())


def tolerance_used(got: torch.Tensor, want: torch.Tensor, *, rtol: float, atol: float) -> float:
    """max |got − want| / (atol + rtol·|want|): ≤ 1 means ``torch.allclose`` holds."""
    return float(((got - want).abs() / (atol + rtol * want.abs())).max())


# --------------------------------------------------------------------------------------
# 1. parity
# --------------------------------------------------------------------------------------


def member_kernel_parity(table: Table, dev: torch.device, family: str, dtype: torch.dtype,
                         compiled: bool) -> None:
    """40 steps of the (K, P) member kernel against the per-tensor reference."""
    gen = torch.Generator().manual_seed(3)
    theta = torch.randn(6, 1031, generator=gen, dtype=dtype).to(dev)
    lr = torch.tensor([0.03, 0.01, 0.003, 0.05, 0.02, 0.1], dtype=dtype, device=dev)
    wd = torch.tensor([0.0, 0.1, 0.3, 0.02, 0.05, 1.0], dtype=dtype, device=dev)
    dec = torch.tensor([False, True, False, True, True, False], device=dev)
    active = torch.ones(6, dtype=torch.bool, device=dev)
    fast, ref = theta.clone(), theta.clone()
    state_f = [torch.zeros_like(theta), torch.zeros_like(theta)]
    state_r = [torch.zeros_like(theta), torch.zeros_like(theta)]
    step_f, steps_r = torch.zeros((), device=dev), [torch.zeros((), device=dev) for _ in lr]
    for t in range(1, 41):
        eta = 0.5 * (1 + math.cos(math.pi * t / 40))  # a varying η_t, and η = 1 at first
        g = torch.sin(3 * fast) + torch.randn(theta.shape, generator=gen, dtype=dtype).to(dev)
        if family == "adam":
            member_adam_step(fast, g, *state_f, step_f, lr=lr, weight_decay=wd, decoupled=dec,
                             active=active, eta=eta, beta1=0.9, beta2=0.99, eps=1e-8,
                             compiled=compiled)
        else:
            member_sgd_step(fast, g, state_f[0], lr=lr, weight_decay=wd, decoupled=dec,
                            active=active, eta=eta, momentum=0.9, compiled=compiled)
        for k in range(len(lr)):  # the reference, member by member with its own α, λ, flag
            one = dict(lr=float(lr[k]), weight_decay=float(wd[k]), eta=eta,
                       decoupled=bool(dec[k]))
            if family == "adam":
                adam_reference([ref[k]], [g[k]], [state_r[0][k]], [state_r[1][k]],
                               [steps_r[k]], beta1=0.9, beta2=0.99, eps=1e-8, **one)
            else:
                sgd_reference([ref[k]], [g[k]], [state_r[0][k]], momentum=0.9, **one)
    # float32: the tolerance of tests/test_optim.py (the compiled kernel fuses, reorders).
    rtol, atol = (1e-12, 1e-12) if dtype == torch.float64 else (1e-5, 1e-6)
    used = tolerance_used(fast, ref, rtol=rtol, atol=atol)
    kind = "compiled" if compiled else "eager"
    table.add("parity", f"member {family} kernel ({kind}, {str(dtype)[6:]}) vs reference",
              f"{used:.0%} of the tolerance (rtol {rtol:.0e}, atol {atol:.0e}), 40 steps",
              used <= 1.0)


def compiled_first_call(table: Table) -> None:
    """Did each compiled kernel pass its first-call check against the eager kernel?"""
    from core.optim import _member  # the kernel registry: which kernels compiled and verified

    for name, eager in (("adam", _member._adam_kernel), ("sgd", _member._sgd_kernel)):
        if name not in _member._compiled:
            continue
        verified = name in _member._verified and _member._compiled[name] is not eager
        result = ("compiled, agreed with eager on its first call" if verified
                  else "fell back to the eager kernel (compile failed or disagreed)")
        table.add("parity", f"compiled {name} kernel: first-call check", result, verified)


def population_parity(table: Table, dev: torch.device, dtype: str, quick: bool) -> None:
    """Members of one population against the same configs trained alone."""
    data = load_dataset("digits", split_seed=0, train_size=300)
    model = ModelSpec(name="mlp", widths=(32, 32), norm=True)
    epochs = 2 if quick else 3
    configs = [
        TrainConfig(optimizer=o, lr=lr, weight_decay=wd, epochs=epochs, batch_size=64,
                    dtype=dtype, schedule=Cosine(epochs=epochs, eta_min=0.1))
        for o, lr, wd in (("adam", 3e-3, 1e-3), ("adamw", 1e-2, 0.1), ("adamw", 3e-3, 1e-2),
                          ("adam", 1e-3, 0.0))
    ]
    pop = train_population(configs, model=model, data=data, device=dev, telemetry=False)
    sizes = {"train": data.train_x.shape[0], "val": data.val_x.shape[0],
             "test": data.test_x.shape[0]}
    worst_loss, worst_samples = 0.0, 0.0  # relative loss difference; error difference in samples
    for config, got in zip(configs, pop, strict=True):
        want = train_single(config, model=model, data=data, device=dev, telemetry=False)
        if len(got.history) != len(want.history):
            worst_loss = math.inf
            continue
        for a, b in zip(got.history, want.history, strict=True):
            for field in ("train_loss", "val_loss", "test_loss", "weight_norm"):
                x, y = getattr(a, field), getattr(b, field)
                worst_loss = max(worst_loss, abs(x - y) / max(abs(y), 1e-3))
            for split, n in sizes.items():
                field = f"{split}_error"
                worst_samples = max(worst_samples, abs(getattr(a, field) - getattr(b, field)) * n)
    if dtype == "float64":
        ok = worst_loss <= 1e-9 and worst_samples <= 1e-6
        tol = "tol 1e-9"
    else:  # float32: one batched product instead of K sums in another order; the runs drift
        ok = worst_loss <= 1e-2 and worst_samples <= 3.0 + 1e-6
        tol = "tol 1e-2, errors within 3 samples"
    table.add("parity", f"population vs single runs ({dtype}, 4 configs, {epochs} epochs)",
              f"max rel diff {worst_loss:.1e}, errors differ by ≤ {worst_samples:.0f} samples "
              f"({tol})", ok)


def section_parity(table: Table, dev: torch.device, quick: bool) -> None:
    for family in ("adam", "sgd"):
        member_kernel_parity(table, dev, family, torch.float64, compiled=False)
    # The compiled kernels serve float32 training; quick mode compiles only Adam's (the one
    # the landscapes use) to stay inside its time budget on two CPU cores.
    for family in ("adam",) if quick else ("adam", "sgd"):
        member_kernel_parity(table, dev, family, torch.float32, compiled=True)
    compiled_first_call(table)
    for dtype in ("float64", "float32"):
        population_parity(table, dev, dtype, quick)


# --------------------------------------------------------------------------------------
# 2. optimizer step
# --------------------------------------------------------------------------------------


def section_optim(table: Table, dev: torch.device, quick: bool) -> None:
    alpha, lam = 1e-3, 1e-2  # paper λ; torch's wd = λ/α
    shapes = BIG_SHAPES[3:] if quick else BIG_SHAPES
    ours_p, theirs_p = make_params(shapes, dev), make_params(shapes, dev)
    n = sum(p.numel() for p in ours_p)
    ours = AdamW(ours_p, lr=alpha, weight_decay=lam)
    kind = "fused"
    try:
        theirs = torch.optim.AdamW(theirs_p, lr=alpha, weight_decay=lam / alpha, fused=True)
        theirs.step()  # fused support is decided at the first step on some versions
    except (RuntimeError, ValueError):
        kind = "foreach"
        theirs_p = make_params(shapes, dev)
        theirs = torch.optim.AdamW(theirs_p, lr=alpha, weight_decay=lam / alpha, foreach=True)
        theirs.step()
    ours.step()
    for _ in range(4):
        ours.step()
        theirs.step()
    diff = max(max_rel_diff(a.detach(), b.detach()) for a, b in zip(ours_p, theirs_p,
                                                                      strict=True))
    table.add("optim", f"our AdamW vs torch AdamW({kind}=True), 5 steps",
              f"max rel diff {diff:.1e} (tol 1e-5)", diff <= 1e-5)
    med = time_interleaved({"ours": ours.step, "torch": theirs.step},
                           rounds=5 if quick else 20, device=dev)
    table.add("optim", f"step time, {n / 1e6:.1f}M parameters",
              f"ours {med['ours'] * 1e3:.2f} ms, torch {kind} {med['torch'] * 1e3:.2f} ms, "
              f"ratio {med['ours'] / med['torch']:.2f}")


# --------------------------------------------------------------------------------------
# 3. landscapes
# --------------------------------------------------------------------------------------


def section_sweep(table: Table, dev: torch.device, quick: bool, data_dir: str | None) -> None:
    n = 4096 if dev.type == "cuda" and not quick else 1024
    peak = matmul_gflops(dev, n=n, repeats=10 if dev.type == "cuda" else 3)
    # "highest" (the default): true float32 products, no TF32; the populations run the same.
    precision = torch.get_float32_matmul_precision()
    table.add("sweep", f"float32 matmul peak ({n}², precision {precision!r})",
              f"{peak / 1e3:.2f} TFLOP/s")
    sizes = (8, 32) if quick else (128, 512, 2048)
    epochs, loop_configs = (1, 2) if quick else (5, 4)
    cases = (("digits", ModelSpec(name="mlp", widths=(64, 64), norm=False)),
             ("mnist1d", ModelSpec(name="mlp", widths=(128, 128), norm=True)))
    for name, model in cases:
        data, source = load_benchmark_data(name, dev, data_dir)
        label = f"{source}, MLP {'-'.join(map(str, model.widths))}{' BN' * model.norm}"
        table.add("sweep", f"{name}: data and model", label)
        for k in sizes:
            configs = landscape(k, epochs=epochs, batch_size=64)
            r = run_sweep(configs, model, data, dev, loop_configs=loop_configs)
            table.add(
                "sweep", f"{name} K={k}, {epochs} epoch{'s' * (epochs > 1)}",
                f"population {r.population_s:.2f} s; loop {r.loop_s:.1f} s (timed on "
                f"{r.loop_timed}, extrapolated to {k}); speedup {r.speedup:.1f}x; "
                f"{r.gflops / 1e3:.3f} TFLOP/s = {r.gflops / peak:.1%} of peak; "
                f"test errors agree {r.agree}/{r.loop_timed}")


# --------------------------------------------------------------------------------------
# 4. ResNet-20 populations
# --------------------------------------------------------------------------------------


def cifar_shaped(dev: torch.device, n_train: int, n_eval: int) -> DataSplits:
    """Standard-normal CIFAR-10-shaped tensors made on the device, with CIFAR augmentation."""
    gen = torch.Generator(device=dev).manual_seed(0)

    def part(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randn(n, 3, 32, 32, generator=gen, device=dev)
        y = torch.randint(0, 10, (n,), generator=gen, device=dev)
        return x, y

    (tx, ty), (vx, vy), (sx, sy) = part(n_train), part(n_eval), part(n_eval)
    return DataSplits(name="cifar10-shaped", train_x=tx, train_y=ty, val_x=vx, val_y=vy,
                      test_x=sx, test_y=sy, num_classes=10, input_shape=(3, 32, 32),
                      augment="cifar")


def section_resnet(table: Table, dev: torch.device, quick: bool, preset: dict) -> None:
    model = ModelSpec(name="resnet", depth=20, width=16)
    sizes = (1, 2) if quick else (1, 8, 32, 64)
    batch = 16 if quick else preset["batch"]
    steps = 2 if quick else 8
    data = cifar_shaped(dev, n_train=batch * steps, n_eval=batch)
    measured: dict[int, float] = {}
    for k in sizes:
        configs = [TrainConfig(optimizer="adamw" if i % 2 else "adam", lr=1e-3 * (1 + i % 4),
                               weight_decay=1e-2, epochs=2, batch_size=batch)
                   for i in range(k)]
        stamps: list[tuple[float, int]] = []

        def clock(_epoch, metrics, stamps=stamps):
            # The metrics were read back, so the device has finished the epoch.
            stamps.append((time.perf_counter(), len(metrics)))

        if dev.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(dev)
        train_population(configs, model=model, data=data, device=dev, callback=clock,
                         max_members=k)
        # Epoch 2 of the first chunk only: epoch 1 pays for first-use costs (cuDNN, the
        # allocator's growth). Had the population been halved for memory, the chunk is smaller.
        (t1, members), (t2, _) = stamps[0], stamps[1]
        per_member = data.train_x.shape[0] / (t2 - t1)
        measured[k] = per_member * members
        memory = (f"{torch.cuda.max_memory_allocated(dev) / 2**30:.2f} GiB"
                  if dev.type == "cuda" else "n/a on CPU")
        table.add("resnet", f"ResNet-20 K={k}, batch {batch}",
                  f"{per_member:.0f} images/s per member, {measured[k]:.0f} total"
                  + (f" (in chunks of {members})" if members < k else "")
                  + f"; peak memory {memory}")
    k = max(s for s in sizes if s <= preset["population"])
    # Evaluation is a forward pass: about a third of a training step per image.
    images = preset["cells"] * preset["epochs"] * (preset["train"] + preset["eval"] / 3)
    hours = images / measured[k] / 3600
    table.add("resnet", "projected cifar10-resnet preset wall time",
              f"{hours:.2f} h = {preset['cells']} cells × {preset['epochs']} epochs × "
              f"({preset['train']} + {preset['eval']}/3) images at the K={k} rate"
              + (" (quick: small batch, not representative)" if quick else ""),
              )


# --------------------------------------------------------------------------------------
# 5. out of memory
# --------------------------------------------------------------------------------------


class _CappedPopulation(population_module._Population):
    """A chunk larger than ``cap`` fails as the allocator would (CPU simulation)."""

    cap = 8

    def __init__(self, configs, **kwargs) -> None:
        if len(configs) > self.cap:
            raise torch.OutOfMemoryError(f"simulated: {len(configs)} members > {self.cap}")
        super().__init__(configs, **kwargs)


def section_oom(table: Table, dev: torch.device, quick: bool) -> None:
    if dev.type == "cuda":
        # Members of an MLP 64 → W → 10 on a batch of B: about four (B, W) float32 activations
        # each. Ask for twice as many as the free memory holds, all in one chunk.
        width, batch = 8192, 8192
        torch.cuda.empty_cache()  # what earlier sections cached counts as free here
        free, _ = torch.cuda.mem_get_info(dev)
        per_member = 4 * batch * width * 4
        k = 2 ** math.ceil(math.log2(2 * free / per_member))
        gen = torch.Generator(device=dev).manual_seed(0)
        x = torch.randn(batch, 64, generator=gen, device=dev)
        y = torch.randint(0, 10, (batch,), generator=gen, device=dev)
        data = DataSplits(name="oom", train_x=x, train_y=y, val_x=x[:64], val_y=y[:64],
                          test_x=x[:64], test_y=y[:64], num_classes=10, input_shape=(64,),
                          augment=None)
        model, how = ModelSpec(name="mlp", widths=(width,), norm=False), "real allocation failure"
    else:
        k, batch = 32, 64
        data = load_dataset("digits", split_seed=0, train_size=128)
        model = ModelSpec(name="mlp", widths=(16,), norm=False)
        how = f"simulated: chunks above {_CappedPopulation.cap} members fail"
    configs = [TrainConfig(optimizer="adamw", lr=1e-3, weight_decay=1e-2 * (1 + i % 3),
                           epochs=1, batch_size=batch) for i in range(k)]
    chunks: list[int] = []

    def record(_epoch, metrics):
        chunks.append(len(metrics))  # one call per chunk that trained its (only) epoch

    original = population_module._Population
    if dev.type != "cuda":
        population_module._Population = _CappedPopulation
    try:
        results = train_population(configs, model=model, data=data, device=dev,
                                   callback=record, max_members=k)
    finally:
        population_module._Population = original
    done = sum(r.final is not None and not r.diverged for r in results)
    ok = done == k and bool(chunks) and max(chunks) < k and sum(chunks) == k
    table.add("oom", f"K={k} asked as one chunk ({how})",
              f"trained in chunks of {max(chunks, default=0)}; {done}/{k} members completed",
              ok)


# --------------------------------------------------------------------------------------


SECTIONS = ("parity", "optim", "sweep", "resnet", "oom")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: the CI form, ≤ 2 minutes on two CPU cores")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--data-dir", default=None, help="where a cached MNIST-1D file lives")
    parser.add_argument("--out", default=None,
                        help="also write the header, table and verdict to this file")
    for key, value in PRESET.items():
        parser.add_argument(f"--preset-{key}", type=int, default=value,
                            help=f"cifar10-resnet preset's {key} (default {value})")
    args = parser.parse_args(argv)
    try:
        dev = resolve_device(args.device)
    except ValueError as error:
        parser.exit(2, f"device_check: --device: {error}\n")
    preset = {key: getattr(args, f"preset_{key}") for key in PRESET}

    name = (f"{torch.cuda.get_device_name(dev)}, CUDA {torch.version.cuda}"
            if dev.type == "cuda" else platform.processor() or "CPU")
    header = (f"device_check on {dev} ({name}), torch {torch.__version__}, "
              f"Python {platform.python_version()}, {torch.get_num_threads()} CPU threads"
              + (", quick" if args.quick else ""))
    print(header, flush=True)
    start = time.perf_counter()
    table = Table()
    jobs = {
        "parity": lambda: section_parity(table, dev, args.quick),
        "optim": lambda: section_optim(table, dev, args.quick),
        "sweep": lambda: section_sweep(table, dev, args.quick, args.data_dir),
        "resnet": lambda: section_resnet(table, dev, args.quick, preset),
        "oom": lambda: section_oom(table, dev, args.quick),
    }
    for section in args.sections:
        table.run(section, jobs[section])
        sync(dev)
    failed = [r for r in table.rows if r.status == "FAIL"]
    verdict = (f"total {time.perf_counter() - start:.0f} s; "
               + (f"{len(failed)} FAILED" if failed else "all checks passed"))
    print(table.render())
    print(verdict)
    if args.out:
        Path(args.out).write_text(f"{header}\n\n{table.render()}\n\n{verdict}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
