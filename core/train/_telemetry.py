"""Equilibrium telemetry per group of decayed tensors, ``bn`` (scale-invariant: the layer feeds
BatchNorm) and ``other``: per step ∠(W_t, W_{t+1}) = arccos(⟨W_t, W_{t+1}⟩/(‖W_t‖‖W_{t+1}‖)) in
radians, averaged over the group's tensors, and √Σ‖W_{t+1}‖²; epoch means (NaN if empty)."""

from __future__ import annotations

import math

import torch

FIELDS = ("angular_update_bn", "angular_update_other", "weight_norm_bn", "weight_norm_other")


def epoch_means(sums: list[float], counts: list[int], k: int) -> dict[str, float]:
    """:data:`FIELDS` from their sums over ``k`` steps (``counts``: tensors per group)."""
    return {f: s / k if n else math.nan for f, s, n in zip(FIELDS, sums, 2 * counts, strict=True)}


class FlatTelemetry:
    """K members' telemetry, summed on the device from per-tensor norms of the flat buffer's
    segments: with ⟨W_t, ΔW⟩ = (‖W_{t+1}‖² − ‖W_t‖² − ‖ΔW‖²)/2, ∠ = atan2(√(‖W_t‖²‖ΔW‖² −
    ⟨W_t, ΔW⟩²), ‖W_t‖² + ⟨W_t, ΔW⟩) is the arccos with relative error ε/∠, not its ε/∠²."""

    def __init__(self, flat: torch.Tensor, sizes: list[int], bn: list[bool]) -> None:
        self.flat, self.prev = flat, torch.empty_like(flat)
        self.views, self.deltas = flat.split(sizes, 1), self.prev.split(sizes, 1)
        member = flat.new_tensor([[b, not b] for b in bn], dtype=torch.float64).view(-1, 2)
        self.counts = [sum(bn), len(bn) - sum(bn)]  # tensors per group
        self.member, self.mean = member, member / member.sum(0).clamp(min=1)
        self.sums = flat.new_zeros(flat.shape[0], 4, dtype=torch.float64)  # FIELDS order
        self.before_sq, self.steps = self._squares(self.views), 0

    @staticmethod
    def _squares(views) -> torch.Tensor:  # (K, tensors), float64
        return torch.stack([torch.linalg.vector_norm(v, dim=1) for v in views], 1).double() ** 2

    def before(self) -> None:
        self.prev.copy_(self.flat)

    def after(self) -> None:
        torch.sub(self.flat, self.prev, out=self.prev)
        aa, bb, dd = self.before_sq, self._squares(self.views), self._squares(self.deltas)
        ad = (bb - aa - dd) / 2
        angle = torch.atan2((aa * dd - ad * ad).clamp(min=0).sqrt(), aa + ad)
        self.sums += torch.cat([angle @ self.mean, (bb @ self.member).sqrt()], 1)
        self.before_sq, self.steps = bb, self.steps + 1

    def epoch(self) -> list[dict[str, float]]:  # per member; starts the next epoch
        sums, steps, self.steps = self.sums.tolist(), self.steps, 0
        self.sums.zero_()
        return [epoch_means(row, self.counts, steps) for row in sums]
