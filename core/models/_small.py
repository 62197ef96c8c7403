"""The three small classifiers: an MLP, a 2-D CNN, and the 1-D CNN of the MNIST-1D paper.

Each is ``features`` (a stack of ``layer -> [BatchNorm] -> ReLU`` blocks) and a linear
``classifier``. With ``norm`` the hidden layers drop their bias, since BatchNorm's shift
replaces it (a bias there would be a parameter weight decay shrinks for nothing).
"""

from __future__ import annotations

import math

from torch import Tensor, nn

# The MNIST-1D paper's convolutions (Greydanus 2020, "Scaling down deep learning").
FIRST_KERNEL = 5  # the first layer looks at 5 samples
KERNEL = 3  # and every later one at 3
STRIDE = 2
PADDING = 1


class Classifier(nn.Module):
    def __init__(self, layers: list[nn.Module], features: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(features, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def _block(layer: nn.Module, batch_norm: type[nn.Module], size: int, norm: bool) -> list:
    # ReLU out of place, as everywhere in these models (see _resnet.BasicBlock.forward).
    return [layer, *([batch_norm(size)] if norm else []), nn.ReLU(inplace=False)]


def mlp(shape: tuple[int, ...], widths: tuple[int, ...], num_classes: int, norm: bool):
    """Flatten, then ``Linear -> [BatchNorm1d] -> ReLU`` per hidden width, then a linear head:
    the cheapest model on which the paper's effect shows."""
    layers: list[nn.Module] = [nn.Flatten()]
    fan_in = math.prod(shape)
    for width in widths:
        layers += _block(nn.Linear(fan_in, width, bias=not norm), nn.BatchNorm1d, width, norm)
        fan_in = width
    return Classifier(layers, fan_in, num_classes)


def cnn(shape: tuple[int, ...], channels: tuple[int, ...], num_classes: int, norm: bool):
    """Per entry of ``channels``: ``Conv3x3 -> [BatchNorm2d] -> ReLU -> MaxPool2x2``; then
    global average pooling and a linear head. Fits 8x8 digits as well as 32x32 CIFAR images.

    The pooling is decided when the model is built, from ``shape``: a stage whose input is
    already 1 pixel wide skips it, so deep channel lists still fit 8x8 inputs. Global average
    pooling makes the head independent of the input size.
    """
    in_channels, height, width = shape
    layers: list[nn.Module] = []
    for out in channels:
        conv = nn.Conv2d(in_channels, out, 3, padding=1, bias=not norm)
        layers += _block(conv, nn.BatchNorm2d, out, norm)
        if min(height, width) >= 2:
            layers.append(nn.MaxPool2d(2))
            height, width = height // 2, width // 2
        in_channels = out
    return Classifier([*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten()], in_channels, num_classes)


def cnn1d(shape: tuple[int, ...], channels: tuple[int, ...], num_classes: int, norm: bool):
    """Per entry of ``channels``: ``Conv1d (stride 2) -> [BatchNorm1d] -> ReLU``; then the
    features are flattened (the position of a pattern is information here, as in the paper)
    and a linear head classifies them.

    The paper's ``ConvBase`` is three ``Conv1d`` layers of 25 channels (kernel 5, then 3 and 3;
    stride 2; padding 1), each followed by a ReLU, and a linear classifier on the flattened
    features: a length-40 signal shrinks 40 → 19 → 10 → 5, so the head sees 25·5 = 125 numbers.
    ``channels=(25, 25, 25)`` builds exactly that shape (about 5,000 parameters). A length that
    has shrunk to 1 stays 1 (padding keeps it), so long channel lists still fit short signals.
    """
    in_channels, length = shape
    if length + 2 * PADDING < FIRST_KERNEL:
        raise ValueError(
            f"input_shape for model 'cnn1d' needs a length of at least "
            f"{FIRST_KERNEL - 2 * PADDING}, got {shape}"
        )
    layers: list[nn.Module] = []
    for i, out in enumerate(channels):
        kernel = FIRST_KERNEL if i == 0 else KERNEL
        conv = nn.Conv1d(in_channels, out, kernel, stride=STRIDE, padding=PADDING, bias=not norm)
        layers += _block(conv, nn.BatchNorm1d, out, norm)
        length = (length + 2 * PADDING - kernel) // STRIDE + 1  # ⌊(L + 2p − k) / s⌋ + 1
        in_channels = out
    return Classifier([*layers, nn.Flatten()], in_channels * length, num_classes)
