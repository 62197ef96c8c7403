"""A plain multilayer perceptron: the cheapest model on which the paper's effect shows."""

from __future__ import annotations

import math

from torch import Tensor, nn


class MLP(nn.Module):
    """Flatten, then ``Linear -> [BatchNorm1d] -> ReLU`` per hidden width, then a linear head.

    With ``norm`` the hidden Linear layers drop their bias, since BatchNorm's shift replaces it
    (a bias there would be a parameter weight decay shrinks for nothing).
    """

    def __init__(
        self,
        *,
        input_shape: tuple[int, ...],
        widths: tuple[int, ...],
        num_classes: int,
        norm: bool,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        fan_in = math.prod(input_shape)
        for width in widths:
            layers.append(nn.Linear(fan_in, width, bias=not norm))
            if norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU(inplace=False))
            fan_in = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(fan_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
