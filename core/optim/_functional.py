"""Functional updates of Algorithms 1 and 2 of Loshchilov & Hutter (ICLR 2019), one model.

The single-model optimizer classes (:mod:`._optimizers`) step through these; a population of
K stacked models steps through the fused (K, P) kernels of :mod:`._member` instead, which are
pinned to the same ``*_reference`` functions here, member by member. Every hyperparameter is
a Python number in the paper's parametrization:

* ``lr`` is α, the initial learning rate;
* ``weight_decay`` is the paper's λ: the per-step shrink is η_t·λ, **never scaled by α**;
* ``eta`` is η_t, the schedule multiplier at this step;
* ``decoupled`` chooses between L2 regularization (λ·θ added to the gradient: SGD, Adam)
  and decoupled weight decay (θ shrunk by η_t·λ outside the gradient step: SGDW, AdamW).

Two implementations
-------------------
``*_reference`` is the plain per-tensor transcription of the paper: the oracle that the
parity tests (tests/test_optim.py, benchmarks/device_check.py) hold every fast path to.
``adam_update`` runs PyTorch's fused (or foreach) Adam kernel — the paper's step is exactly
``torch.optim.adam`` with lr = α·η_t and, for AdamW, ``decoupled_weight_decay=True,
weight_decay=λ/α`` — and ``sgd_update`` multi-tensor ``_foreach`` ops (torch's SGD keeps the
learning rate *outside* the momentum buffer, the paper inside, so its kernel computes a
different update under a varying schedule).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.optim.adam import adam as _torch_adam


def adam_update(
    params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor], steps: list[Tensor], *, lr: float, weight_decay: float,
    eta: float, beta1: float, beta2: float, eps: float, decoupled: bool, fused: bool | None = None,
) -> None:
    r"""One step of Algorithm 2 (Adam with L2, or AdamW), in place.

    .. math::
        g_t &\leftarrow \nabla f_t(\theta_{t-1}) + \lambda_{L2}\,\theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        \hat m_t &= m_t/(1-\beta_1^t),\quad \hat v_t = v_t/(1-\beta_2^t) \\
        \theta_t &= \theta_{t-1} - \eta_t\big(\alpha\,\hat m_t/(\sqrt{\hat v_t}+\epsilon)
                     + \lambda_{dec}\,\theta_{t-1}\big)

    with λ_L2 = λ for Adam (``decoupled=False``) and λ_dec = λ for AdamW; λ is the paper's
    weight decay, so the decoupled shrink per step is (1 − η_t·λ), independent of α.
    ``steps`` holds one scalar tensor per parameter, incremented here.

    With α > 0 this calls PyTorch's Adam kernel (``fused`` by default where supported); with
    α = 0 and decoupled decay, torch's wd = λ/α does not exist and :func:`adam_reference` runs.
    """
    if not params:
        return
    if decoupled and weight_decay != 0.0 and lr == 0.0:
        adam_reference(params, grads, exp_avgs, exp_avg_sqs, steps, lr=lr, eta=eta, eps=eps,
                       weight_decay=weight_decay, beta1=beta1, beta2=beta2, decoupled=decoupled)
        return
    if fused is None:
        fused = all(p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float64)
                    for p in params)
    # torch.optim's AdamW shrinks by lr_t·wd = (α·η_t)·(λ/α) = η_t·λ: the paper's decay.
    torch_wd = (weight_decay / lr if weight_decay != 0.0 else 0.0) if decoupled else weight_decay
    _torch_adam(
        params, grads, exp_avgs, exp_avg_sqs, [], steps, foreach=None if fused else True,
        fused=fused or None, decoupled_weight_decay=bool(decoupled), amsgrad=False,
        beta1=beta1, beta2=beta2, lr=lr * eta, weight_decay=torch_wd, eps=eps, maximize=False,
    )


def adam_reference(
    params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor], steps: list[Tensor], *, lr: float, weight_decay: float,
    eta: float, beta1: float, beta2: float, eps: float, decoupled: bool,
) -> None:
    """Algorithm 2 written out per tensor (see :func:`adam_update`)."""
    l2, dec = (0.0, weight_decay) if decoupled else (weight_decay, 0.0)
    for p, g, m, v, step in zip(params, grads, exp_avgs, exp_avg_sqs, steps, strict=True):
        step += 1
        if l2 != 0.0:
            g = g + l2 * p  # the L2 term enters both moments
        m.lerp_(g, 1.0 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
        t = step.to(dtype=p.dtype, device=p.device)  # bias corrections in the weights' precision
        bias1 = 1.0 - beta1**t
        bias2_sqrt = (1.0 - beta2**t).sqrt()
        denom = (v.sqrt() / bias2_sqrt).add_(eps)  # ε outside the root of v̂
        if dec != 0.0:
            p.mul_(1.0 - eta * dec)  # decoupled decay
        p.sub_(lr * eta / bias1 * (m / denom))


def sgd_update(
    params: list[Tensor], grads: list[Tensor], momentum_buffers: list[Tensor], *, lr: float,
    weight_decay: float, eta: float, momentum: float, decoupled: bool,
) -> None:
    r"""One step of Algorithm 1 (SGD with momentum and L2, or SGDW), in place.

    .. math::
        g_t &\leftarrow \nabla f_t(\theta_{t-1}) + \lambda_{L2}\,\theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + \eta_t\,\alpha\,g_t \\
        \theta_t &= \theta_{t-1} - m_t - \eta_t\,\lambda_{dec}\,\theta_{t-1}

    The learning rate sits *inside* the momentum buffer, as in the paper; ``m_0 = 0`` (pass
    zero-initialised buffers). λ is the paper's weight decay (shrink η_t·λ, not α·λ).
    Under a constant schedule this equals ``torch.optim.SGD`` with lr = α (whose buffer is
    m/α); under a varying schedule torch's update uses the *new* lr on the whole buffer and
    differs.
    """
    if not params:
        return
    l2, dec = (0.0, weight_decay) if decoupled else (weight_decay, 0.0)
    if l2 != 0.0:
        grads = torch._foreach_add(grads, params, alpha=l2)
    torch._foreach_mul_(momentum_buffers, momentum)
    torch._foreach_add_(momentum_buffers, grads, alpha=lr * eta)
    if dec != 0.0:
        torch._foreach_mul_(params, 1.0 - eta * dec)
    torch._foreach_sub_(params, momentum_buffers)


def sgd_reference(
    params: list[Tensor], grads: list[Tensor], momentum_buffers: list[Tensor], *, lr: float,
    weight_decay: float, eta: float, momentum: float, decoupled: bool,
) -> None:
    """Algorithm 1 written out per tensor (see :func:`sgd_update`)."""
    l2, dec = (0.0, weight_decay) if decoupled else (weight_decay, 0.0)
    for p, g, buf in zip(params, grads, momentum_buffers, strict=True):
        if l2 != 0.0:
            g = g + l2 * p
        buf.mul_(momentum).add_(g, alpha=eta * lr)
        if dec != 0.0:
            p.mul_(1.0 - eta * dec)
        p.sub_(buf)
