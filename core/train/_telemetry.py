"""Equilibrium telemetry: weight norm and angular update per optimizer step, per layer group.

Two groups of decayed tensors: ``bn``, the matrices whose layer feeds straight into BatchNorm
(scale-invariant, :func:`core.models.normalized_weights`), and ``other`` (the head; under
``decay_rule="all"`` also the decayed vectors). Per step t and tensor W, the angular update is
∠(W_t, W_{t+1}) = arccos(⟨W_t, W_{t+1}⟩ / (‖W_t‖·‖W_{t+1}‖)) in radians, averaged over the
group's tensors; the group's weight norm is √Σ‖W_{t+1}‖². Both are averaged over the epoch's
steps (:data:`FIELDS` of :class:`core.train.EpochMetrics`); a group with no tensor gives NaN.
:func:`core.train.train_single` computes them per tensor from copies (the reference); the
population, here, on the flat (K, P) buffer on the device, read once per epoch.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from core.models import normalized_weights
from core.optim import param_groups

FIELDS = ("angular_update_bn", "angular_update_other", "weight_norm_bn", "weight_norm_other")


def decayed_groups(net: nn.Module, rule: str) -> list[tuple[str, bool]]:
    """The decayed parameters in :func:`core.optim.param_groups` order, each with whether it
    feeds BatchNorm."""
    bn = normalized_weights(net)
    return [(name, name in bn) for g in param_groups(net, weight_decay=1.0, rule=rule)
            if g["decay"] for name, _ in g["params"]]


def epoch_means(sums: list[float], counts: list[int], steps: int) -> dict[str, float]:
    """:data:`FIELDS` from the epoch's sums in that order (``counts``: tensors per group)."""
    return {f: s / steps if n else math.nan for f, s, n in zip(FIELDS, sums, counts * 2,
                                                                strict=True)}


class FlatTelemetry:
    """Telemetry of K members from their decayed flat buffer (K, P), without host syncs.

    Before a step the buffer is copied; after it, the step ΔW = W_{t+1} − W_t replaces the
    copy, and per-tensor reductions over column segments give ‖W_{t+1}‖², ‖ΔW‖² and
    ⟨W_t, ΔW⟩ = ⟨W_{t+1}, ΔW⟩ − ‖ΔW‖² (‖W_t‖² is kept from the previous step), whence
    ∠ = atan2(√(‖W_t‖²‖ΔW‖² − ⟨W_t, ΔW⟩²), ‖W_t‖² + ⟨W_t, ΔW⟩): the arccos of the cosine
    (Lagrange's identity), without its loss of precision at the small angles of one step.
    """

    def __init__(self, flat: torch.Tensor, sizes: list[int], bn: list[bool]) -> None:
        self.flat, self.prev = flat, torch.empty_like(flat)
        self.views, self.deltas = flat.split(sizes, 1), self.prev.split(sizes, 1)
        member = torch.tensor([[b, not b] for b in bn], dtype=torch.float64,
                              device=flat.device).view(-1, 2)  # (tensors, groups)
        self.counts = [int(n) for n in member.sum(0).tolist()]
        self.member, self.mean = member, member / member.sum(0).clamp(min=1)
        self.before_sq = self._squares(self.views)
        self.new_epoch()

    @staticmethod
    def _squares(views) -> torch.Tensor:  # (K, tensors), float64
        return torch.stack([torch.linalg.vector_norm(v, dim=1) for v in views], 1).double() ** 2

    def new_epoch(self) -> None:
        k = self.flat.shape[0]
        self.angle_sum = self.flat.new_zeros(k, 2, dtype=torch.float64)
        self.norm_sum = torch.zeros_like(self.angle_sum)
        self.steps = 0

    def before(self) -> None:
        self.prev.copy_(self.flat)

    def after(self) -> None:
        torch.sub(self.flat, self.prev, out=self.prev)
        aa, bb, dd = self.before_sq, self._squares(self.views), self._squares(self.deltas)
        ad = torch.stack([torch.linalg.vecdot(b, d, dim=1) for b, d in
                          zip(self.views, self.deltas, strict=True)], 1).double() - dd
        angle = torch.atan2((aa * dd - ad * ad).clamp(min=0).sqrt(), aa + ad)
        self.angle_sum += angle @ self.mean
        self.norm_sum += (bb @ self.member).sqrt()
        self.before_sq = bb
        self.steps += 1

    def epoch(self) -> list[dict[str, float]]:
        """Per member, :data:`FIELDS` of the epoch so far; starts the next epoch."""
        sums, steps = torch.cat([self.angle_sum, self.norm_sum], 1).tolist(), self.steps
        self.new_epoch()
        return [epoch_means(row, self.counts, steps) for row in sums]
