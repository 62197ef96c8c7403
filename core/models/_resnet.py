"""The CIFAR ResNet family of He et al. 2016 (ResNet-20/32/44/56/110), section 4.2.

A 3x3 conv stem with ``width`` channels, three stages of n basic blocks with width, 2·width
and 4·width channels (stride 2 at the start of stages 2 and 3), global average pooling and a
linear head: 6n+2 weighted layers. Shortcuts are the paper's option A for CIFAR: identity,
and where the shape changes, stride-2 subsampling with the new channels zero-padded. Option A
adds no parameters, which keeps the parameter count at He et al.'s (0.27 M for ResNet-20) and
leaves every decayed weight in a conv or the head.

The paper under reproduction used a 26 2x64d shake-shake ResNet; this family is the small
stand-in that trains in minutes, with the same ingredients (BatchNorm, 3x3 convs, residuals).

``norm=False`` removes every BatchNorm (an identity in its place) and gives the convolutions
back their bias, to show what normalization does to weight decay's role. Nothing else
compensates: without BatchNorm each residual block adds to the signal's variance, so deep
unnormalized ResNets start with large activations (He et al. train them only with BatchNorm).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def _conv3x3(in_channels: int, out_channels: int, stride: int, norm: bool) -> nn.Conv2d:
    # No bias under BatchNorm: its shift makes a bias redundant.
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=not norm)


def _norm(channels: int, norm: bool) -> nn.Module:
    # An identity in its place keeps the blocks' attributes and forward code the same either way.
    return nn.BatchNorm2d(channels) if norm else nn.Identity()


class _ZeroPadShortcut(nn.Module):
    """Option A shortcut: subsample by ``stride`` and append zero channels up to ``out``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra_channels = out_channels - in_channels

    def forward(self, x: Tensor) -> Tensor:
        # Slicing keeps ceil(H / stride) rows, the same as the stride-2 conv with padding 1
        # on the residual path, so the two always add up, even for odd or 1-pixel inputs.
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


class BasicBlock(nn.Module):
    """``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``, the post-activation block (``bn``
    an identity when ``norm`` is off)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, norm: bool) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, out_channels, stride, norm)
        self.bn1 = _norm(out_channels, norm)
        self.conv2 = _conv3x3(out_channels, out_channels, 1, norm)
        self.bn2 = _norm(out_channels, norm)
        self.relu = nn.ReLU(inplace=False)
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = _ZeroPadShortcut(in_channels, out_channels, stride)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        # Out of place, as everywhere in these models: under vmap an in-place update fails
        # whenever its target is unbatched and its source batched (a shared input, say), and
        # at these sizes the extra buffer costs nothing.
        return self.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for small images; any input size works thanks to global pooling."""

    def __init__(self, input_shape: tuple[int, ...], blocks_per_stage: int, width: int,
                 num_classes: int, norm: bool) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            _conv3x3(input_shape[0], width, 1, norm), _norm(width, norm), nn.ReLU(inplace=False)
        )
        blocks: list[nn.Module] = []
        channels = width
        for stage, stage_channels in enumerate((width, 2 * width, 4 * width)):
            for i in range(blocks_per_stage):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(BasicBlock(channels, stage_channels, stride, norm))
                channels = stage_channels
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.pool(self.blocks(self.stem(x))))
