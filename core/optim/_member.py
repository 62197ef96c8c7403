"""The population's optimizer step: one fused step over K members stored as flat (K, P) tensors.

This is the only update :func:`core.train.train_population` uses. Row k follows
:func:`core.optim.adam_reference` / :func:`core.optim.sgd_reference` with its own α_k, λ_k
and L2-or-decoupled flag (paper convention: the decoupled shrink is η_t·λ_k, never scaled by
α_k; tested member by member, and against K separate optimizer runs), plus an ``active``
mask: an inactive member (diverged or pruned) gets a zero gradient and a zero step, so it
stays exactly where it is and a NaN in its gradient never reaches its state.

Why a compiled kernel: the update is memory-bound, and eagerly each of its ~10 elementwise
ops is a full pass over K·P values (plus temporaries). ``torch.compile`` fuses them into one
pass — about 20× faster on a 2-core CPU for K = 128 digits MLPs, and it lets one K-member
step beat K separate fused torch steps. Compilation costs ~20 s the first time on a machine
(cached on disk after that), so it is used only when the tensors are large enough to repay
it, and never when ``WDLAB_COMPILE=0``; if compiling fails, the eager kernel runs instead.
Because a miscompiled optimizer would silently corrupt a study, the first compiled call in
a process is checked against the eager kernel on the same inputs; on any mismatch the
eager result is kept and the compiled kernel is dropped. Parity with the reference is
tested either way.
"""

from __future__ import annotations

import logging
import os

import torch
from torch import Tensor

log = logging.getLogger(__name__)

# The trade: compiling costs ~20 s once per machine (then ~3 s a process, from the disk cache)
# and saves about 4 ns per element and step (eager 4.5 ms, compiled 0.3 ms a step at 934,000
# elements, one thread). 2^19 elements repay the warm cost within ~1,300 steps, under one demo
# (30 epochs × 57 steps); the old 2^20 left the K = 128 landscape of MNIST-1D MLPs 64-64,
# 934,000 decayed elements, eager. Smaller populations, tests' included, stay eager.
COMPILE_MIN_ELEMENTS = 1 << 19


def _adam_kernel(p: Tensor, m: Tensor, v: Tensor, g: Tensor, active: Tensor, lr: Tensor,
                 l2: Tensor, dec: Tensor, eta: float, bias1: Tensor, bias2_sqrt: Tensor,
                 beta1: float, beta2: float, eps: float) -> None:
    # Written out of place, then copied back: torch.compile (2.14) miscompiles the chained
    # in-place form of this kernel under no_grad; parity tests guard both forms.
    g = torch.where(active, g, 0.0) + l2 * p  # the L2 term enters both moments
    m_new = torch.lerp(m, g, 1.0 - beta1)
    v_new = v * beta2 + (1.0 - beta2) * g * g
    denom = v_new.sqrt() / bias2_sqrt + eps  # ε outside the root of v̂
    p_new = p * (1.0 - eta * dec) - (lr * eta / bias1) * (m_new / denom)
    m.copy_(m_new)
    v.copy_(v_new)
    p.copy_(p_new)


def _sgd_kernel(p: Tensor, buf: Tensor, g: Tensor, active: Tensor, lr: Tensor, l2: Tensor,
                dec: Tensor, eta: float, momentum: float) -> None:
    g = torch.where(active, g, 0.0) + l2 * p
    buf_new = buf * momentum + (eta * lr) * g  # the learning rate sits inside the buffer
    p_new = p * (1.0 - eta * dec) - buf_new
    buf.copy_(buf_new)
    p.copy_(p_new)


_compiled: dict[str, object] = {}
_verified: set[str] = set()


def _kernel(name: str, eager, numel: int, compiled: bool | None):
    """The compiled kernel when wanted and available, else the eager one."""
    if compiled is None:
        compiled = numel >= COMPILE_MIN_ELEMENTS and os.environ.get("WDLAB_COMPILE", "1") != "0"
    if not compiled:
        return eager
    if name not in _compiled:
        try:
            _compiled[name] = torch.compile(eager, dynamic=True, fullgraph=True)
        except Exception as error:  # pragma: no cover - depends on the toolchain
            log.warning("torch.compile unavailable (%s); using the eager %s kernel", error, name)
            _compiled[name] = eager
    return _compiled[name]


def _coefficients(lr: Tensor, weight_decay: Tensor, decoupled: Tensor, active: Tensor,
                  like: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(K, 1) columns: α_k (0 when inactive), λ as L2, λ as decoupled decay, active mask."""
    col = lambda t: t.to(device=like.device, dtype=like.dtype).view(-1, 1)  # noqa: E731
    on = active.to(like.device).view(-1, 1)
    lam = col(weight_decay) * on
    flag = decoupled.to(like.device).view(-1, 1)
    zero = torch.zeros_like(lam)
    return col(lr) * on, torch.where(flag, zero, lam), torch.where(flag, lam, zero), on


def _run(name: str, eager, compiled: bool | None, numel: int, n_mutated: int, *args) -> None:
    """Run the kernel; the first ``n_mutated`` arguments are updated in place."""
    kernel = _kernel(name, eager, numel, compiled)
    if kernel is eager or name in _verified:
        kernel(*args)
        return
    # First compiled call: compute the eager answer on copies, then compare.
    expected = [a.clone() for a in args[:n_mutated]]
    eager(*expected, *args[n_mutated:])
    try:
        kernel(*args)
        agree = all(torch.allclose(got, want, rtol=1e-4, atol=1e-6, equal_nan=True)
                    for got, want in zip(args[:n_mutated], expected, strict=True))
    except Exception as error:  # a toolchain problem surfaces on the first call
        log.warning("compiled %s kernel failed (%s); using the eager kernel", name, error)
        agree = False
    if not agree:
        log.warning("compiled %s kernel disagreed with the eager one; using eager", name)
        _compiled[name] = eager
        for target, value in zip(args[:n_mutated], expected, strict=True):
            target.copy_(value)
        return
    _verified.add(name)


@torch.no_grad()
def member_adam_step(p: Tensor, g: Tensor, exp_avg: Tensor, exp_avg_sq: Tensor, step: Tensor,
                     *, lr: Tensor, weight_decay: Tensor, decoupled: Tensor, active: Tensor,
                     eta: float, beta1: float, beta2: float, eps: float,
                     compiled: bool | None = None) -> None:
    """Algorithm 2 for K members stored as rows of ``p`` (K, P); see the module docstring.

    ``lr``, ``weight_decay`` (paper λ), ``decoupled`` and ``active`` have shape (K,);
    ``step`` is the shared scalar step count, incremented here.
    """
    step += 1
    t = step.to(dtype=p.dtype, device=p.device)
    bias1 = 1.0 - beta1**t
    bias2_sqrt = (1.0 - beta2**t).sqrt()
    alpha, l2, dec, on = _coefficients(lr, weight_decay, decoupled, active, p)
    _run("adam", _adam_kernel, compiled, p.numel(), 3, p, exp_avg, exp_avg_sq, g, on, alpha, l2,
         dec, float(eta), bias1, bias2_sqrt, float(beta1), float(beta2), float(eps))


@torch.no_grad()
def member_sgd_step(p: Tensor, g: Tensor, momentum_buffer: Tensor, *, lr: Tensor,
                    weight_decay: Tensor, decoupled: Tensor, active: Tensor, eta: float,
                    momentum: float, compiled: bool | None = None) -> None:
    """Algorithm 1 for K members stored as rows of ``p`` (K, P); see the module docstring."""
    alpha, l2, dec, on = _coefficients(lr, weight_decay, decoupled, active, p)
    _run("sgd", _sgd_kernel, compiled, p.numel(), 2, p, momentum_buffer, g, on, alpha, l2, dec,
         float(eta), float(momentum))
