"""Train K configs at once as one batched model (torch.func), each member with its own α, λ.

How it works
------------
* The K members' parameters are stacked (``torch.func.stack_module_state``) and stored in
  two flat tensors of shape (K, P): the decayed parameters and the others. Each model
  tensor is a leaf *view* into them, and its ``.grad`` a view into a flat gradient buffer
  that backward accumulates into in place. So the optimizer step is one fused kernel over
  (K, P) with per-member coefficients of shape (K, 1) (:mod:`core.optim._member`) instead of
  K × n_params small ones, and backward never materialises per-slice copies.
* The forward pass of MLPs is :func:`core.models.stacked_forward` (a few large products,
  features-major); other models run ``vmap(functional_call)`` over the member axis. BatchNorm
  buffers are stacked too, so each member keeps its own running statistics. Logits are
  (K, C, B), the layout ``F.cross_entropy`` reduces over directly. The loss is the sum of the
  members' mean losses: its gradient with respect to member k's parameters is member k's own
  gradient, so one ``backward()`` trains all K. On a CPU the MLP's members run forward and
  backward in cache-sized slices, one backward each (:func:`_member_slices`).
* Members that share a seed share the data order (one input batch broadcast to all); members
  with different seeds get their own batches (stacked inputs).
* Telemetry (:mod:`core.train._telemetry`): segment reductions after each step, read per epoch.
* Divergence is detected on the device without a host sync: a member whose loss is not
  finite or exceeds the bound is frozen from that step on (its gradient and step size are
  masked to zero), so NaN never reaches another member. A callback may stop (prune) members.

Member k's metrics equal :func:`core.train.train_single` of config k to float tolerance
(tested).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from core.data import DataSplits
from core.models import ModelSpec, build_model, normalized_weights, stacked_forward
from core.optim import member_adam_step, member_sgd_step, param_groups
from core.schedules import NormalizedDecay, period_epochs
from core.train._common import EVAL_ROWS, Callback, DataOrder, errors, prepare_data, steps_per_epoch
from core.train._config import EpochMetrics, RunResult, TrainConfig, resolve_device
from core.train._memory import members_per_chunk
from core.train._telemetry import FlatTelemetry

CACHE_BYTES = 1 << 20
"""A CPU core's L2 cache as this trainer plans for it (1 MiB per core on the 2-core AMD EPYC
this was measured on; 1–2 MiB on current x86 server cores)."""


def check_population(configs: Sequence[TrainConfig]) -> None:
    """Members must share the optimizer family, budget, schedule and β/ε (not α, λ, seed)."""
    if not configs:
        raise ValueError("a population needs at least one config")
    first = configs[0].shared_key()
    for i, config in enumerate(configs):
        if config.shared_key() != first:
            raise ValueError(f"config {i} cannot share a population with config 0: members may "
                             "differ only in optimizer within one family (adam/adamw or "
                             "sgd/sgdw), lr, weight_decay and seed")


def train_population(configs: Sequence[TrainConfig], *, model: ModelSpec, data: DataSplits,
                     device: str | torch.device = "auto", callback: Callback | None = None,
                     max_members: int | None = None, telemetry: bool = True) -> list[RunResult]:
    """Train every config of ``configs`` at once; returns one :class:`RunResult` per config.

    A population larger than fits in memory (or than ``max_members``) is trained in chunks;
    the callback always sees indices into ``configs``. If a chunk still runs out of GPU
    memory, it is halved and trained again from its start (its callback calls repeat).
    ``telemetry=False`` skips the equilibrium telemetry (its fields stay NaN).
    """
    check_population(configs)
    dev, dtype = resolve_device(device), configs[0].torch_dtype
    data = prepare_data(data, dev, dtype)
    chunk = max_members or members_per_chunk(
        model=model, data=data, batch_size=configs[0].batch_size, dtype=dtype, device=dev,
        n_seeds=len({c.seed for c in configs}), telemetry=telemetry)
    results: list[RunResult] = []
    offset = 0
    while offset < len(configs):
        part = list(configs[offset : offset + chunk])
        relay = None if callback is None else _offset_callback(callback, offset)
        try:
            results.extend(_Population(part, model=model, data=data, device=dev,
                                       telemetry=telemetry).train(relay))
            offset += len(part)
            continue
        except torch.OutOfMemoryError:
            if chunk == 1:
                raise
            chunk = max(1, chunk // 2)  # the estimate was optimistic: retry smaller
        # Outside the except block: by now the traceback, and with it the failed chunk's
        # tensors, are gone, so their cached blocks can really be returned.
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return results


def _offset_callback(callback: Callback, offset: int) -> Callback:
    return lambda epoch, metrics: [
        i - offset for i in callback(epoch, {i + offset: m for i, m in metrics.items()}) or ()]


class _Population:
    """One chunk of members trained together (see the module docstring)."""

    def __init__(self, configs: list[TrainConfig], *, model: ModelSpec, data: DataSplits,
                 device: torch.device, telemetry: bool = True) -> None:
        self.configs, self.data, self.device = configs, data, device
        first = self.first = configs[0]
        k = self.k = len(configs)
        dtype = first.torch_dtype
        nets = [build_model(model, input_shape=data.input_shape, num_classes=data.num_classes,
                            seed=c.seed).to(device=device, dtype=dtype) for c in configs]
        self.base = nets[0]
        self.stacked = stacked_forward(self.base)
        # Members go through forward and backward in slices (see _member_slices); each slice
        # has its own leaf views of the flat parameters and gradients, and of the buffers.
        self.slices, self.cache_rows = _member_slices(k, self.base, first.batch_size, dtype,
                                                      device, sliced=self.stacked is not None)
        params, buffers = stack_module_state(nets)
        self.buffers = [{n: b[s] for n, b in buffers.items()} for s in self.slices]
        groups = param_groups(self.base, weight_decay=1.0, rule=first.decay_rule)
        decayed = [name for g in groups if g["decay"] for name, _ in g["params"]]
        kept = [name for g in groups if not g["decay"] for name, _ in g["params"]]
        self.flats: list[torch.Tensor] = []  # [decayed (K, P_d), kept (K, P_n)]
        self.grads: list[torch.Tensor] = []
        self.params: list[dict[str, torch.Tensor]] = [{} for _ in self.slices]
        for names in (decayed, kept):
            pieces = [params[name].detach().reshape(k, -1) for name in names]
            # The empty piece keeps cat defined when a group has no parameters.
            flat = torch.cat([torch.zeros(k, 0, device=device, dtype=dtype), *pieces], dim=1)
            grad = torch.zeros_like(flat)
            sizes = [piece.shape[1] for piece in pieces]
            for name, p, g in zip(names, flat.split(sizes, 1), grad.split(sizes, 1), strict=True):
                shape = params[name].shape[1:]
                for s, leaves in zip(self.slices, self.params, strict=True):
                    leaves[name] = p[s].view(-1, *shape).requires_grad_(True)
                    leaves[name].grad = g[s].view(-1, *shape)
            self.flats.append(flat)
            self.grads.append(grad)
        self.state = [self._new_state(f) for f in self.flats]
        bn = normalized_weights(self.base)
        self.telemetry = None if not (telemetry and decayed) else FlatTelemetry(
            self.flats[0], [params[n][0].numel() for n in decayed], [n in bn for n in decayed])

        as_tensor = lambda values, dt=dtype: torch.tensor(values, device=device, dtype=dt)  # noqa: E731
        self.lr = as_tensor([c.lr for c in configs])
        self.weight_decay = as_tensor([c.weight_decay for c in configs])
        self.decoupled = as_tensor([c.decoupled for c in configs], torch.bool)

        seeds = sorted({c.seed for c in configs})
        self.orders = [DataOrder(s, data, first.batch_size) for s in seeds]
        self.seed_index = as_tensor([seeds.index(c.seed) for c in configs], torch.long)
        self.shared_input = len(seeds) == 1
        # Models without a stacked forward: vmap over the members, the batch shared or not.
        self.vmapped = {shared: vmap(self._member_forward, in_dims=(0, 0, None if shared else 0))
                        for shared in (True, False)}

    def _new_state(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        zeros = lambda: torch.zeros_like(flat)  # noqa: E731
        if self.first.family == "adam":
            return {"exp_avg": zeros(), "exp_avg_sq": zeros(),
                    "step": torch.zeros((), dtype=torch.float32, device=flat.device)}
        return {"momentum_buffer": zeros()}

    def _logits(self, params, buffers, x: torch.Tensor, *, training: bool,
                shared: bool) -> torch.Tensor:
        """(K, C, B) logits of a slice's members for one batch, shared or one per member."""
        if self.stacked is not None:
            return self.stacked(params, buffers, x, training=training, shared=shared)
        self.base.train(training)
        return self.vmapped[shared](params, buffers, x).transpose(1, 2)

    def _member_forward(self, params, buffers, x):
        return functional_call(self.base, (params, buffers), (x,))

    def _forward_backward(self, x: torch.Tensor, targets: torch.Tensor, active: torch.Tensor
                          ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every member's mean loss (K,) and misclassified samples (K,) on one batch, and its
        gradient in the flat buffer: slice by slice, the loss of the members still active and
        not diverging at this step. The sum of the members' losses has, with respect to member
        k's parameters, member k's own gradient, so one backward per slice trains them all."""
        for grad in self.grads:
            grad.zero_()
        losses, wrong = [], []
        for s, params, buffers in zip(self.slices, self.params, self.buffers, strict=True):
            logits = self._logits(params, buffers, x if self.shared_input else x[s],
                                  training=True, shared=self.shared_input)
            loss = F.cross_entropy(logits, targets[s], reduction="none").mean(dim=1)
            keep = active[s] & ~self._diverging(loss)
            with warnings.catch_warnings():
                # The grads are strided views into the flat buffer, on purpose.
                warnings.filterwarnings("ignore", message=".*gradient layout contract")
                torch.where(keep, loss, 0.0).sum().backward()
            losses.append(loss.detach())
            wrong.append(errors(logits.detach(), targets[s]))
        return torch.cat(losses), torch.cat(wrong)

    def _diverging(self, member_loss: torch.Tensor) -> torch.Tensor:
        return ~torch.isfinite(member_loss) | (member_loss > self.first.divergence_loss)

    def train(self, callback: Callback | None) -> list[RunResult]:
        first, k, dev = self.first, self.k, self.device
        n_train = self.data.train_x.shape[0]
        spe = steps_per_epoch(n_train, first.batch_size)
        norm_unit = (NormalizedDecay(1.0, first.batch_size, n_train)
                     if first.normalized_decay else None)
        results = [RunResult(config=c) for c in self.configs]
        active = torch.ones(k, dtype=torch.bool, device=dev)
        diverged_at = torch.zeros(k, dtype=torch.long, device=dev)  # 0: not diverged
        start, step = time.perf_counter(), 0
        for epoch in range(1, first.epochs + 1):
            loss_sum = torch.zeros(k, dtype=torch.float64, device=dev)
            wrong = torch.zeros(k, dtype=torch.long, device=dev)
            eta, eta_sum = math.nan, 0.0
            for index_per_seed in zip(*(order.epoch() for order in self.orders), strict=True):
                x, y = self._batch(index_per_seed)
                targets = y if y.dim() == 2 else y.expand(k, -1)
                member_loss, batch_wrong = self._forward_backward(x, targets, active)
                bad = self._diverging(member_loss)
                diverged_at = torch.where(bad & active, epoch, diverged_at)
                active = active & ~bad
                eta = first.schedule(step, spe)
                lam = self.weight_decay
                if norm_unit is not None:
                    lam = lam * norm_unit.paper_lambda(
                        period_epochs(first.schedule, step, spe, first.epochs))
                if self.telemetry:
                    self.telemetry.before()
                self._update(active, eta, lam)
                if self.telemetry:
                    self.telemetry.after()
                step, eta_sum = step + 1, eta_sum + eta
                loss_sum += torch.where(active, member_loss, 0.0).double() * targets.shape[1]
                wrong += batch_wrong
            metrics = self._epoch_metrics(epoch, loss_sum, wrong, (eta, eta_sum / spe), n_train,
                                          start)
            running = {}
            for i, (result, diverged) in enumerate(zip(results, diverged_at.tolist(), strict=True)):
                if result.stopped_epoch or result.diverged:
                    continue
                if diverged:
                    result.diverged_epoch = diverged
                    continue
                result.history.append(metrics[i])
                running[i] = metrics[i]
            if callback is not None and running:
                for i in set(callback(epoch, running) or ()) & running.keys():
                    results[i].stopped_epoch = epoch
                    active[i] = False
            if all(results[i].stopped_epoch for i in running):
                break
        duration = time.perf_counter() - start
        for result in results:
            result.duration_s = duration
        return results

    def _batch(self, index_per_seed) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [order.batch(idx) for order, idx in zip(self.orders, index_per_seed, strict=True)]
        if self.shared_input:
            return pairs[0]
        xs, ys = (torch.stack(t)[self.seed_index] for t in zip(*pairs, strict=True))
        return xs, ys  # (K, B, ...), (K, B)

    def _update(self, active: torch.Tensor, eta: float, lam: torch.Tensor) -> None:
        """One optimizer step; inactive (diverged, pruned) members do not move."""
        no_decay = torch.zeros_like(lam)
        for which, (flat, grad, state) in enumerate(zip(self.flats, self.grads, self.state,
                                                        strict=True)):
            if flat.shape[1] == 0:
                continue
            common = dict(lr=self.lr, weight_decay=lam if which == 0 else no_decay,
                          decoupled=self.decoupled, active=active, eta=eta)
            if self.first.family == "adam":
                beta1, beta2 = self.first.betas
                member_adam_step(flat, grad, state["exp_avg"], state["exp_avg_sq"], state["step"],
                                 beta1=beta1, beta2=beta2, eps=self.first.eps, **common)
            else:
                member_sgd_step(flat, grad, state["momentum_buffer"],
                                momentum=self.first.momentum, **common)

    @torch.no_grad()
    def _evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss = torch.zeros(self.k, dtype=torch.float64, device=self.device)
        wrong = torch.zeros(self.k, dtype=torch.long, device=self.device)
        for s, leaves, buffers in zip(self.slices, self.params, self.buffers, strict=True):
            params = {n: p.detach() for n, p in leaves.items()}
            members = s.stop - s.start
            rows = max(1, (self.cache_rows or EVAL_ROWS) // members)
            for xb, yb in zip(x.split(rows), y.split(rows), strict=True):
                logits = self._logits(params, buffers, xb, training=False, shared=True)
                targets = yb.expand(members, -1)
                loss[s] += F.cross_entropy(logits, targets, reduction="none").double().sum(dim=1)
                wrong[s] += errors(logits, targets)
        n = max(1, y.shape[0])
        return loss / n, wrong.double() / n

    def _epoch_metrics(self, epoch, loss_sum, wrong, etas, n_train, start) -> list[EpochMetrics]:
        val_loss, val_error = self._evaluate(self.data.val_x, self.data.val_y)
        test_loss, test_error = self._evaluate(self.data.test_x, self.data.test_y)
        norms = torch.linalg.vector_norm(self.flats[0].detach(), dim=1, dtype=torch.float64)
        columns = [t.tolist() for t in (loss_sum / n_train, wrong.double() / n_train, val_loss,
                                         val_error, test_loss, test_error, norms)]
        elapsed = time.perf_counter() - start
        telemetry = self.telemetry.epoch() if self.telemetry else [{}] * self.k
        return [EpochMetrics(epoch=epoch, train_loss=tl, train_error=te, val_error=ve,
                             test_error=tse, val_loss=vl, test_loss=tsl, eta=etas[0],
                             weight_norm=wn, elapsed_s=elapsed, eta_epoch_mean=etas[1], **tm)
                for tl, te, vl, ve, tsl, tse, wn, tm in zip(*columns, telemetry, strict=True)]


def _member_slices(k: int, base: torch.nn.Module, batch_size: int, dtype: torch.dtype,
                   device: torch.device, *, sliced: bool) -> tuple[list[slice], int | None]:
    """Groups of members that go through forward and backward together, and the rows
    (members × samples) an evaluation pass of a group may hold (None: :data:`EVAL_ROWS`).

    On a CPU, the stacked MLP's members are cut into equal slices whose widest activation
    (members × features × batch) fits in :data:`CACHE_BYTES`, and evaluation passes hold as
    many rows: BatchNorm, ReLU and the batched products then stream from L2 instead of L3.
    Measured at the demo's shapes (MLP 64-64 + BatchNorm, batch 64, K = 128; 2026-12-01):
    forward and backward of BatchNorm + ReLU 1.6 → 1.0 ms and of the 64 × 64 products
    2.9 → 2.4 ms with slices of 64 (one thread); three epochs in one process, telemetry off,
    1.34 → 1.03 s (two threads); evaluation of the validation and test sets 62 → 41 ms (one
    thread). Wide members lose nothing: at 1024-1024 + BatchNorm (2 members a slice, K = 32,
    digits, batch 128) an epoch took 2.6–3.1 s sliced against 2.9–3.0 s in one slice, at 512-512
    0.76–0.78 s against 0.81–0.86 s. On a GPU, and for models run under ``vmap``, one slice
    holds every member.
    """
    if not sliced or device.type != "cpu":
        return [slice(0, k)], None
    widest = max(m.out_features for m in base.modules() if isinstance(m, torch.nn.Linear))
    members = max(1, CACHE_BYTES // (widest * batch_size * dtype.itemsize))
    count = math.ceil(k / members)
    size = math.ceil(k / count)
    rows = max(1, CACHE_BYTES // (widest * dtype.itemsize))
    return [slice(lo, min(k, lo + size)) for lo in range(0, k, size)], rows
