"""The 1-D convolutional network of the MNIST-1D paper (Greydanus 2020, "Scaling down deep
learning"), with optional BatchNorm.

The paper's ``ConvBase`` is three ``Conv1d`` layers of 25 channels (kernel 5, then 3 and 3;
stride 2; padding 1), each followed by a ReLU, and a linear classifier on the flattened
features: a length-40 signal shrinks 40 → 19 → 10 → 5, so the head sees 25·5 = 125 numbers.
``channels=(25, 25, 25)`` builds exactly that shape (about 5,000 parameters).
"""

from __future__ import annotations

from torch import Tensor, nn

FIRST_KERNEL = 5  # the paper's first layer looks at 5 samples
KERNEL = 3  # and every later one at 3
STRIDE = 2
PADDING = 1


def conv_output_length(length: int, kernel: int) -> int:
    """Length after one of these convolutions: ⌊(L + 2·padding − kernel) / stride⌋ + 1."""
    return (length + 2 * PADDING - kernel) // STRIDE + 1


class Conv1dNet(nn.Module):
    """Per entry of ``channels``: ``Conv1d (stride 2) -> [BatchNorm1d] -> ReLU``; then the
    features are flattened (the position of a pattern is information here, as in the paper)
    and a linear head classifies them.

    The first convolution has kernel 5, the others kernel 3. With ``norm`` the convolutions
    drop their bias, since BatchNorm's shift replaces it. A length that has shrunk to 1 stays
    1 (padding keeps it), so long channel lists still fit short signals.
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
        in_channels, length = input_shape
        if length + 2 * PADDING < FIRST_KERNEL:
            raise ValueError(
                f"input_shape for model 'cnn1d' needs a length of at least "
                f"{FIRST_KERNEL - 2 * PADDING}, got {input_shape}"
            )
        layers: list[nn.Module] = []
        for i, out_channels in enumerate(channels):
            kernel = FIRST_KERNEL if i == 0 else KERNEL
            conv = nn.Conv1d(in_channels, out_channels, kernel, stride=STRIDE, padding=PADDING,
                             bias=not norm)  # fmt: skip
            layers.append(conv)
            if norm:
                layers.append(nn.BatchNorm1d(out_channels))
            layers.append(nn.ReLU(inplace=False))
            length = conv_output_length(length, kernel)
            in_channels = out_channels
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(in_channels * length, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
