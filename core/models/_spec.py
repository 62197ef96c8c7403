"""The one description of a model: what the dashboard form, the presets and the code share."""

from __future__ import annotations

from dataclasses import dataclass

MODELS: tuple[str, ...] = ("mlp", "cnn", "cnn1d", "resnet")


# Architectures whose standard recipe includes BatchNorm: their ``norm`` defaults to True.
NORMALIZED_BY_DEFAULT: tuple[str, ...] = ("resnet",)


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of the classifier every optimizer in a study trains.

    Only the fields of the chosen ``name`` matter, but all are validated so a preset with a
    typo fails when it is loaded, not hours into a study. Lists (as YAML gives them) are
    accepted for ``widths`` and ``channels`` and stored as tuples, so specs stay hashable.

    ``norm`` switches BatchNorm for every architecture. Left as None it takes the
    architecture's own default and is stored resolved (so equal models compare equal): on for
    the ResNet, whose recipe (He et al. 2016) includes it, off for the MLP and both CNNs, as in
    their plain textbook (and MNIST-1D paper) forms.
    """

    name: str  # architecture: "mlp" | "cnn" | "cnn1d" | "resnet"
    widths: tuple[int, ...] = (256, 256)  # MLP: hidden layer widths, one Linear+ReLU each
    channels: tuple[int, ...] = (32, 64)  # CNN: output channels of each 3x3 conv + 2x2 pool
    # stage; CNN-1D: of each stride-2 Conv1d (the MNIST-1D paper's net is (25, 25, 25))
    depth: int = 20  # ResNet: total weighted layers, 6n+2 (20, 32, 44, 56, 110; 8 is the tiniest)
    width: int = 16  # ResNet: channels of the first stage; stages use width, 2*width, 4*width
    norm: bool | None = None  # BatchNorm after each hidden layer or conv; None: the model's
    # default (see the class docstring), resolved to True or False on construction

    def __post_init__(self) -> None:
        if self.name not in MODELS:
            raise ValueError(f"model name must be one of {MODELS}, got {self.name!r}")
        for field, what in (("widths", "MLP hidden widths"), ("channels", "CNN channels")):
            value = getattr(self, field)
            if isinstance(value, str) or not hasattr(value, "__iter__"):
                raise ValueError(f"{field} ({what}) must be a sequence of positive integers")
            value = tuple(value)
            if not value or not all(_is_positive_int(v) for v in value):
                raise ValueError(
                    f"{field} ({what}) must be a non-empty sequence of positive integers, "
                    f"got {value!r}"
                )
            object.__setattr__(self, field, value)
        if not _is_positive_int(self.depth) or self.depth < 8 or (self.depth - 2) % 6 != 0:
            raise ValueError(
                f"depth (ResNet) must be 6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, ...), "
                f"got {self.depth!r}"
            )
        if not _is_positive_int(self.width):
            raise ValueError(
                f"width (ResNet base width) must be a positive integer, got {self.width!r}"
            )
        if self.norm is None:
            object.__setattr__(self, "norm", self.name in NORMALIZED_BY_DEFAULT)
        if not isinstance(self.norm, bool):
            raise ValueError(
                f"norm must be True, False or None (the model's default), got {self.norm!r}"
            )

    @property
    def blocks_per_stage(self) -> int:
        """ResNet residual blocks in each of the three stages: n in depth = 6n + 2."""
        return (self.depth - 2) // 6
