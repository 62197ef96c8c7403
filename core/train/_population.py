"""Train K configs at once as one batched model (torch.func), each member with its own α, λ.

How it works
------------
* The K members' parameters are stacked (``torch.func.stack_module_state``) and stored in
  two flat leaf tensors of shape (K, P): the decayed parameters and the others. The model's
  tensors are views into them, so the optimizer step is a handful of whole-tensor ops with
  per-member coefficients of shape (K, 1) instead of K × n_params small kernels.
* The forward pass is ``vmap(functional_call)`` over the member axis; BatchNorm buffers are
  stacked too, so each member keeps its own running statistics. The loss is the sum of the
  members' mean losses: its gradient with respect to member k's slice is member k's own
  gradient, so one ``backward()`` trains all K.
* Members that share a seed share the data order (one input batch broadcast to all); members
  with different seeds get their own batches (stacked inputs).
* Divergence is detected on the device without a host sync: a member whose loss is not
  finite or exceeds the bound is frozen from that step on (its gradient and step size are
  masked to zero), so NaN never reaches another member. A callback may stop (prune) members.

Member k's metrics equal :func:`core.train.train_single` of config k to float tolerance
(tested).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from core.data import DataSplits
from core.models import ModelSpec, build_model
from core.optim import adam_update, param_groups, sgd_update
from core.schedules import NormalizedDecay, period_epochs
from core.train._common import (
    EVAL_ROWS,
    Callback,
    DataOrder,
    errors,
    prepare_data,
    steps_per_epoch,
)
from core.train._config import EpochMetrics, RunResult, TrainConfig, resolve_device
from core.train._memory import members_per_chunk


def check_population(configs: Sequence[TrainConfig]) -> None:
    """Members must share the optimizer family, budget, schedule and β/ε (not α, λ, seed)."""
    if not configs:
        raise ValueError("a population needs at least one config")
    first = configs[0].shared_key()
    for i, config in enumerate(configs):
        if config.shared_key() != first:
            raise ValueError(
                f"config {i} cannot share a population with config 0: members may differ only "
                "in optimizer within one family (adam/adamw or sgd/sgdw), lr, weight_decay "
                "and seed"
            )


def train_population(
    configs: Sequence[TrainConfig],
    *,
    model: ModelSpec,
    data: DataSplits,
    device: str | torch.device = "auto",
    callback: Callback | None = None,
    max_members: int | None = None,
) -> list[RunResult]:
    """Train every config of ``configs`` at once; returns one :class:`RunResult` per config.

    A population larger than fits in memory (or than ``max_members``) is trained in chunks;
    the callback always sees indices into ``configs``.
    """
    check_population(configs)
    dev = resolve_device(device)
    dtype = configs[0].torch_dtype
    data = prepare_data(data, dev, dtype)
    chunk = max_members or members_per_chunk(
        model=model, data=data, batch_size=configs[0].batch_size, dtype=dtype, device=dev,
        n_seeds=len({c.seed for c in configs}),
    )
    results: list[RunResult] = []
    for offset in range(0, len(configs), chunk):
        part = list(configs[offset : offset + chunk])
        relay = None if callback is None else _offset_callback(callback, offset)
        results.extend(_Population(part, model=model, data=data, device=dev).train(relay))
    return results


def _offset_callback(callback: Callback, offset: int) -> Callback:
    def relay(epoch, metrics):
        shifted = {i + offset: m for i, m in metrics.items()}
        stop = callback(epoch, shifted) or ()
        return [i - offset for i in stop]

    return relay


class _Population:
    """One chunk of members trained together (see the module docstring)."""

    def __init__(self, configs: list[TrainConfig], *, model: ModelSpec, data: DataSplits,
                 device: torch.device) -> None:
        self.configs = configs
        self.data = data
        self.device = device
        first = configs[0]
        self.first = first
        k = self.k = len(configs)
        dtype = first.torch_dtype
        nets = [
            build_model(model, input_shape=data.input_shape, num_classes=data.num_classes,
                        seed=c.seed).to(device=device, dtype=dtype)
            for c in configs
        ]
        self.base = nets[0]
        params, self.buffers = stack_module_state(nets)
        groups = param_groups(self.base, weight_decay=1.0, rule=first.decay_rule)
        decayed = [name for g in groups if g["decay"] for name, _ in g["params"]]
        kept = [name for g in groups if not g["decay"] for name, _ in g["params"]]
        self.layout = {}  # name -> (which flat tensor, offset, shape)
        flats = []
        for which, names in enumerate((decayed, kept)):
            offset, pieces = 0, []
            for name in names:
                shape = tuple(params[name].shape[1:])
                size = math.prod(shape)
                self.layout[name] = (which, offset, shape)
                pieces.append(params[name].detach().reshape(k, size))
                offset += size
            flat = torch.cat(pieces, dim=1) if pieces else torch.zeros(k, 0, device=device,
                                                                       dtype=dtype)
            flats.append(flat.contiguous().requires_grad_(True))
        self.flats = flats  # [decayed (K, P_d), kept (K, P_n)]
        self.state = [self._new_state(f) for f in flats]

        as_tensor = lambda values, dt=dtype: torch.tensor(values, device=device, dtype=dt)  # noqa: E731
        self.lr = as_tensor([c.lr for c in configs])
        self.weight_decay = as_tensor([c.weight_decay for c in configs])
        self.decoupled = as_tensor([c.decoupled for c in configs], torch.bool)

        seeds = sorted({c.seed for c in configs})
        self.orders = [DataOrder(s, data, first.batch_size) for s in seeds]
        self.seed_index = as_tensor([seeds.index(c.seed) for c in configs], torch.long)
        self.shared_input = len(seeds) == 1
        in_x = None if self.shared_input else 0
        self.forward = vmap(self._member_forward, in_dims=(0, 0, in_x))
        self.forward_eval = vmap(self._member_forward, in_dims=(0, 0, None))

    def _new_state(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        zeros = lambda: torch.zeros_like(flat, requires_grad=False)  # noqa: E731
        if self.first.family == "adam":
            return {"exp_avg": zeros(), "exp_avg_sq": zeros(),
                    "step": torch.zeros((), dtype=torch.float32, device=flat.device)}
        return {"momentum_buffer": zeros()}

    def _params(self) -> dict[str, torch.Tensor]:
        return {
            name: self.flats[which][:, offset : offset + math.prod(shape)].view(self.k, *shape)
            for name, (which, offset, shape) in self.layout.items()
        }

    def _member_forward(self, params, buffers, x):
        return functional_call(self.base, (params, buffers), (x,))

    # ---------------------------------------------------------------------------------
    def train(self, callback: Callback | None) -> list[RunResult]:
        first, k, dev = self.first, self.k, self.device
        n_train = self.data.train_x.shape[0]
        spe = steps_per_epoch(n_train, first.batch_size)
        norm_unit = (NormalizedDecay(1.0, first.batch_size, n_train)
                     if first.normalized_decay else None)
        results = [RunResult(config=c) for c in self.configs]
        active = torch.ones(k, dtype=torch.bool, device=dev)
        diverged_at = torch.zeros(k, dtype=torch.long, device=dev)  # 0: not diverged
        stopped = [False] * k
        start = time.perf_counter()
        step = 0
        for epoch in range(1, first.epochs + 1):
            self.base.train()
            loss_sum = torch.zeros(k, dtype=torch.float64, device=dev)
            wrong = torch.zeros(k, dtype=torch.long, device=dev)
            batches = [order.epoch() for order in self.orders]
            eta = math.nan
            for index_per_seed in zip(*batches, strict=True):
                x, y = self._batch(index_per_seed)
                logits = self.forward(self._params(), self.buffers, x)  # (K, B, C)
                targets = y if y.dim() == 2 else y.expand(k, -1)
                per_sample = F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
                ).view(k, -1)
                member_loss = per_sample.mean(dim=1)
                bad = ~torch.isfinite(member_loss) | (member_loss > first.divergence_loss)
                diverged_at = torch.where(bad & active, epoch, diverged_at)
                active = active & ~bad
                total = torch.where(active, member_loss, 0.0).sum()
                for flat in self.flats:
                    flat.grad = None
                total.backward()
                eta = first.schedule(step, spe)
                lam = self.weight_decay
                if norm_unit is not None:
                    lam = lam * norm_unit.paper_lambda(
                        period_epochs(first.schedule, step, spe, first.epochs))
                self._update(active, eta, lam)
                step += 1
                batch_n = targets.shape[1]
                loss_sum += torch.where(active, member_loss.detach(), 0.0).double() * batch_n
                wrong += errors(logits.detach(), targets)
            metrics = self._epoch_metrics(epoch, loss_sum, wrong, eta, n_train, start)
            diverged_list = diverged_at.tolist()
            running = {}
            for i, result in enumerate(results):
                if stopped[i] or result.diverged:
                    continue
                if diverged_list[i]:
                    result.diverged_epoch = diverged_list[i]
                    continue
                result.history.append(metrics[i])
                running[i] = metrics[i]
            if callback is not None and running:
                for i in set(callback(epoch, running) or ()):
                    if i in running:
                        stopped[i] = True
                        results[i].stopped_epoch = epoch
                        active[i] = False
            if not any(i in running and not stopped[i] for i in range(k)):
                break
        duration = time.perf_counter() - start
        for result in results:
            result.duration_s = duration
        return results

    def _batch(self, index_per_seed) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [order.batch(idx) for order, idx in zip(self.orders, index_per_seed,
                                                        strict=True)]
        if self.shared_input:
            return pairs[0]
        xs = torch.stack([x for x, _ in pairs])[self.seed_index]  # (K, B, ...)
        ys = torch.stack([y for _, y in pairs])[self.seed_index]  # (K, B)
        return xs, ys

    @torch.no_grad()
    def _update(self, active: torch.Tensor, eta: float, lam: torch.Tensor) -> None:
        lr = torch.where(active, self.lr, 0.0)  # frozen members do not move
        for which, (flat, state) in enumerate(zip(self.flats, self.state, strict=True)):
            if flat.shape[1] == 0:
                continue
            grad = torch.where(active[:, None], flat.grad, 0.0)  # and never spread NaN
            wd = torch.where(active, lam, 0.0) if which == 0 else 0.0
            if self.first.family == "adam":
                beta1, beta2 = self.first.betas
                adam_update(
                    [flat], [grad], [state["exp_avg"]], [state["exp_avg_sq"]], [state["step"]],
                    lr=lr, weight_decay=wd, eta=eta, beta1=beta1, beta2=beta2,
                    eps=self.first.eps, decoupled=self.decoupled,
                )
            else:
                sgd_update(
                    [flat], [grad], [state["momentum_buffer"]], lr=lr, weight_decay=wd,
                    eta=eta, momentum=self.first.momentum, decoupled=self.decoupled,
                )

    @torch.no_grad()
    def _evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.base.eval()
        params = {n: p.detach() for n, p in self._params().items()}
        rows = max(1, EVAL_ROWS // self.k)
        loss = torch.zeros(self.k, dtype=torch.float64, device=self.device)
        wrong = torch.zeros(self.k, dtype=torch.long, device=self.device)
        for xb, yb in zip(x.split(rows), y.split(rows), strict=True):
            logits = self.forward_eval(params, self.buffers, xb)
            loss += F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), yb.repeat(self.k), reduction="none"
            ).view(self.k, -1).double().sum(dim=1)
            wrong += errors(logits, yb.expand(self.k, -1))
        n = max(1, y.shape[0])
        return loss / n, wrong.double() / n

    def _epoch_metrics(self, epoch, loss_sum, wrong, eta, n_train, start) -> list[EpochMetrics]:
        val_loss, val_error = self._evaluate(self.data.val_x, self.data.val_y)
        test_loss, test_error = self._evaluate(self.data.test_x, self.data.test_y)
        norms = self.flats[0].detach().double().norm(dim=1)
        columns = [t.tolist() for t in (loss_sum / n_train, wrong.double() / n_train, val_loss,
                                         val_error, test_loss, test_error, norms)]
        elapsed = time.perf_counter() - start
        return [
            EpochMetrics(epoch=epoch, train_loss=tl, train_error=te, val_error=ve,
                         test_error=tse, val_loss=vl, test_loss=tsl, eta=eta, weight_norm=wn,
                         elapsed_s=elapsed)
            for tl, te, vl, ve, tsl, tse, wn in zip(*columns, strict=True)
        ]
