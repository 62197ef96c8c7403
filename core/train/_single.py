"""Train one config: the plain, obvious loop that population training is checked against."""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

from core.data import DataSplits
from core.models import ModelSpec, build_model, normalized_weights
from core.optim import OPTIMIZERS, param_groups
from core.schedules import NormalizedDecay, ScheduleDriver
from core.train._common import EVAL_ROWS, Callback, DataOrder, errors, prepare_data, steps_per_epoch
from core.train._config import EpochMetrics, RunResult, TrainConfig, resolve_device
from core.train._telemetry import epoch_means


def make_optimizer(config: TrainConfig, net: torch.nn.Module) -> torch.optim.Optimizer:
    """One of core.optim's four optimizers over ``net`` with decayed / undecayed groups."""
    lam = 0.0 if config.normalized_decay else config.weight_decay  # the driver sets λ_t
    groups = param_groups(net, weight_decay=lam, rule=config.decay_rule)
    cls = OPTIMIZERS[config.optimizer]
    if config.family == "adam":
        return cls(groups, lr=config.lr, betas=config.betas, eps=config.eps)
    return cls(groups, lr=config.lr, momentum=config.momentum)


def decayed_norm(optimizer: torch.optim.Optimizer) -> float:
    """L2 norm of the parameters in the decayed groups."""
    return math.sqrt(sum(float(p.detach().pow(2).sum()) for group in optimizer.param_groups
                         if group.get("decay", True) for p in group["params"]))


@torch.no_grad()
def step_telemetry(before: dict[str, torch.Tensor], params: dict[str, torch.Tensor],
                   groups: list[tuple[str, bool]]) -> list[float]:
    """One step's :mod:`core.train._telemetry` the obvious way: per tensor the arccos of the
    cosine of its copies before and after, averaged per group; each group's √Σ‖W_{t+1}‖²."""
    angles, squares = ([], []), ([], [])  # (bn, other)
    for name, bn in groups:
        a, b = before[name], params[name].detach().double()
        cos = float((a * b).sum() / (a.norm() * b.norm()))
        angles[not bn].append(math.acos(max(-1.0, min(1.0, cos))))
        squares[not bn].append(float(b.pow(2).sum()))
    return [*(sum(x) / max(1, len(x)) for x in angles), *(math.sqrt(sum(x)) for x in squares)]


@torch.no_grad()
def evaluate(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy, error) of ``net`` in eval mode."""
    net.eval()
    loss, wrong = 0.0, 0
    for xb, yb in zip(x.split(EVAL_ROWS), y.split(EVAL_ROWS), strict=True):
        logits = net(xb)
        loss += float(F.cross_entropy(logits, yb, reduction="sum"))
        wrong += int(errors(logits, yb))
    n = max(1, y.shape[0])
    return loss / n, wrong / n


def train_single(config: TrainConfig, *, model: ModelSpec, data: DataSplits,
                 device: str | torch.device = "auto", callback: Callback | None = None,
                 telemetry: bool = True) -> RunResult:
    """Train ``config`` alone with a standard ``nn.Module`` and a :mod:`core.optim` optimizer.

    Per epoch it records training loss and error (over the epoch's minibatches, as trained),
    validation and test error (eval mode), η and the norm of the decayed weights. A training
    loss that is NaN, infinite or above ``config.divergence_loss`` ends the run: it is marked
    diverged in that epoch and keeps the history before it. ``telemetry``: :func:`step_telemetry`.
    """
    dev, dtype = resolve_device(device), config.torch_dtype
    data = prepare_data(data, dev, dtype)
    net = build_model(model, input_shape=data.input_shape, num_classes=data.num_classes,
                      seed=config.seed).to(device=dev, dtype=dtype)
    optimizer = make_optimizer(config, net)
    n_train = data.train_x.shape[0]
    spe = steps_per_epoch(n_train, config.batch_size)
    normalized = (NormalizedDecay(config.weight_decay, config.batch_size, n_train)
                  if config.normalized_decay else None)
    driver = ScheduleDriver(optimizer, config.schedule, steps_per_epoch=spe,
                            total_epochs=config.epochs, normalized=normalized)
    order = DataOrder(config.seed, data, config.batch_size)
    bn = normalized_weights(net)
    # The decayed tensors in param_groups' order, and their group; none when telemetry is off.
    groups = [(n, n in bn) for g in param_groups(net, weight_decay=1.0, rule=config.decay_rule)
              if g["decay"] for n, _ in g["params"]] if telemetry else []
    counts = [sum(bn for _, bn in groups), sum(not bn for _, bn in groups)]
    params = dict(net.named_parameters())
    result, start, step = RunResult(config=config), time.perf_counter(), 0
    for epoch in range(1, config.epochs + 1):
        net.train()
        loss_sum, wrong, eta, eta_sum, sums = 0.0, 0, math.nan, 0.0, [0.0] * 4
        for index in order.epoch():
            x, y = order.batch(index)
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            value = float(loss.detach())
            if not math.isfinite(value) or value > config.divergence_loss:
                result.diverged_epoch = epoch
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            eta = driver.apply(step)
            old = {name: params[name].detach().double().clone() for name, _ in groups}
            optimizer.step()
            if groups:
                sums = [s + v for s, v in zip(sums, step_telemetry(old, params, groups),
                                              strict=True)]
            step, eta_sum = step + 1, eta_sum + eta
            loss_sum += value * y.shape[0]
            wrong += int(errors(logits.detach(), y))
        if result.diverged:
            break
        val_loss, val_error = evaluate(net, data.val_x, data.val_y)
        test_loss, test_error = evaluate(net, data.test_x, data.test_y)
        metrics = EpochMetrics(
            epoch=epoch, train_loss=loss_sum / n_train, train_error=wrong / n_train,
            val_error=val_error, test_error=test_error, val_loss=val_loss, test_loss=test_loss,
            eta=eta, weight_norm=decayed_norm(optimizer), elapsed_s=time.perf_counter() - start,
            eta_epoch_mean=eta_sum / spe, **epoch_means(sums, counts, spe))
        result.history.append(metrics)
        if callback is not None and 0 in set(callback(epoch, {0: metrics}) or ()):
            result.stopped_epoch = epoch
            break
    result.duration_s = time.perf_counter() - start
    return result
