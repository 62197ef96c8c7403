"""A small convolutional network that fits 8x8 digits as well as 32x32 CIFAR images."""

from __future__ import annotations

from torch import Tensor, nn


class SmallCNN(nn.Module):
    """Per entry of ``channels``: ``Conv3x3 -> [BatchNorm2d] -> ReLU -> MaxPool2x2``; then
    global average pooling and a linear head.

    The pooling is decided when the model is built, from ``input_shape``: a stage whose input
    is already 1 pixel wide skips it, so deep channel lists still fit 8x8 inputs. Global
    average pooling makes the head independent of the input size.
    """

    def __init__(
        self,
        *,
        input_shape: tuple[int, ...],
        channels: tuple[int, ...],
        num_classes: int,
        norm: bool,
    ) -> None:
        super().__init__()
        in_channels, height, width = input_shape
        layers: list[nn.Module] = []
        for out_channels in channels:
            layers.append(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=not norm))
            if norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=False))
            if min(height, width) >= 2:
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
            in_channels = out_channels
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
