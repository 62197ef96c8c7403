"""SGD, SGDW, Adam and AdamW as ``torch.optim.Optimizer`` classes, in the paper's parametrization.

Each class is a thin stateful shell (param groups, state, ``state_dict``) around one
functional update of :mod:`core.optim._functional`. Hyperparameters:

* ``lr`` — α, the initial learning rate;
* ``weight_decay`` — the paper's λ: SGD/Adam add λ·θ to the gradient (L2), SGDW/AdamW
  shrink θ by η_t·λ per step (decoupled). Never scaled by α; PyTorch's ``weight_decay`` for
  AdamW is λ/α (see :mod:`core.optim._conventions`);
* ``eta`` — η_t, the schedule multiplier, kept in every param group (default 1.0) and set
  by a schedule each step (:class:`core.schedules.ScheduleDriver`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import torch
from torch import Tensor

from core.optim._functional import adam_update, sgd_update

Params = Iterable[Tensor] | Iterable[dict[str, Any]]


def _check_number(name: str, value: Any, *, low: float, low_open: bool, high: float | None = None):
    if not (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and (value > low if low_open else value >= low)
            and (high is None or value < high)):
        bound = f"> {low}" if low_open else f">= {low}"
        bound += "" if high is None else f" and < {high}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


class _PaperOptimizer(torch.optim.Optimizer):
    """Shared shell: validation of every param group, and the ``decoupled`` switch."""

    decoupled: ClassVar[bool]
    _checks: ClassVar[dict[str, tuple[float, bool, float | None]]] = dict.fromkeys(
        ("lr", "weight_decay", "eta"), (0.0, False, None)  # (low, low open?, high)
    )

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        self._validate(defaults)  # a bad default is refused even where every group overrides it
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        self._validate(self.param_groups[-1])

    def _validate(self, group: dict[str, Any]) -> None:
        for key, (low, low_open, high) in self._checks.items():
            _check_number(key, group[key], low=low, low_open=low_open, high=high)

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._validate(group)  # a schedule may have written eta / weight_decay
            self._group_step(group)
        return loss

    def _group_step(self, group: dict[str, Any]) -> None:
        raise NotImplementedError


class _SGDFamily(_PaperOptimizer):
    r"""Algorithm 1 of the paper: SGD with momentum β₁ (m₀ = 0).

    .. math::
        g_t &\leftarrow \nabla f_t(\theta_{t-1}) \;[+\, \lambda\theta_{t-1}\ \text{SGD}] \\
        m_t &= \beta_1 m_{t-1} + \eta_t \alpha g_t \\
        \theta_t &= \theta_{t-1} - m_t \;[-\, \eta_t\lambda\theta_{t-1}\ \text{SGDW}]
    """

    _checks: ClassVar = {**_PaperOptimizer._checks, "momentum": (0.0, False, 1.0)}

    def __init__(self, params: Params, *, lr: float = 1e-3, momentum: float = 0.9,
                 weight_decay: float = 0.0, eta: float = 1.0) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                                  "eta": eta})

    def _group_step(self, group: dict[str, Any]) -> None:
        params = [p for p in group["params"] if p.grad is not None]
        for p in params:
            if "momentum_buffer" not in self.state[p]:
                self.state[p]["momentum_buffer"] = torch.zeros_like(p)
        sgd_update(
            params, [p.grad for p in params], [self.state[p]["momentum_buffer"] for p in params],
            lr=group["lr"], weight_decay=group["weight_decay"], eta=group["eta"],
            momentum=group["momentum"], decoupled=self.decoupled,
        )


class SGD(_SGDFamily):
    __doc__ = (_SGDFamily.__doc__ or "") + """
    SGD applies λ as L2 regularization: λ·θ is added to the gradient and so is scaled by
    η_t·α like the rest of the step. ``weight_decay`` is the paper's λ.
    """
    decoupled = False


class SGDW(_SGDFamily):
    __doc__ = (_SGDFamily.__doc__ or "") + """
    SGDW decays decoupled: θ shrinks by η_t·λ per step, outside the momentum buffer.
    ``weight_decay`` is the paper's λ (not scaled by α).
    """
    decoupled = True


class _AdamFamily(_PaperOptimizer):
    r"""Algorithm 2 of the paper (m₀ = v₀ = 0; defaults α = 1e-3, β = (0.9, 0.999), ε = 1e-8).

    .. math::
        g_t &\leftarrow \nabla f_t(\theta_{t-1}) \;[+\, \lambda\theta_{t-1}\ \text{Adam}] \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        \theta_t &= \theta_{t-1} - \eta_t\Big(\frac{\alpha\,\hat m_t}{\sqrt{\hat v_t}+\epsilon}
                     \;[+\, \lambda\theta_{t-1}\ \text{AdamW}]\Big)

    With scalar hyperparameters the step runs PyTorch's fused Adam kernel with lr = α·η_t
    (and, for AdamW, weight_decay = λ/α), which is this update exactly.
    """

    _checks: ClassVar = {**_PaperOptimizer._checks, "eps": (0.0, True, None)}

    def __init__(self, params: Params, *, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, eta: float = 1.0, fused: bool | None = None) -> None:
        self._fused = fused
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "eta": eta})

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        betas = group["betas"]
        if not (isinstance(betas, tuple | list) and len(betas) == 2):
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            _check_number(f"betas[{i}]", beta, low=0.0, low_open=False, high=1.0)

    def _group_step(self, group: dict[str, Any]) -> None:
        params = [p for p in group["params"] if p.grad is not None]
        for p in params:
            if not self.state[p]:
                # A float32 step tensor on the parameter's device is what the fused kernel reads.
                self.state[p].update(step=torch.zeros((), dtype=torch.float32, device=p.device),
                                     exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
        states = [self.state[p] for p in params]
        beta1, beta2 = group["betas"]
        adam_update(
            params, [p.grad for p in params],
            *([state[key] for state in states] for key in ("exp_avg", "exp_avg_sq", "step")),
            lr=group["lr"], weight_decay=group["weight_decay"], eta=group["eta"],
            beta1=beta1, beta2=beta2, eps=group["eps"], decoupled=self.decoupled,
            fused=self._fused,
        )


class Adam(_AdamFamily):
    __doc__ = (_AdamFamily.__doc__ or "") + """
    Adam applies λ as L2 regularization (λ·θ enters m and v, so it is divided by √v̂ like the
    gradient). ``weight_decay`` is the paper's λ, equal to ``torch.optim.Adam``'s.
    """
    decoupled = False


class AdamW(_AdamFamily):
    __doc__ = (_AdamFamily.__doc__ or "") + """
    AdamW decays decoupled: θ shrinks by η_t·λ per step. ``weight_decay`` is the paper's λ;
    ``torch.optim.AdamW`` calls the same thing weight_decay = λ/α.
    """
    decoupled = True


OPTIMIZERS: dict[str, type[_PaperOptimizer]] = {"sgd": SGD, "sgdw": SGDW, "adam": Adam,
                                                 "adamw": AdamW}
"""The four optimizers of the paper by their lower-case names."""
