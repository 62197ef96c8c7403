"""What a study can choose from core, without importing torch: the names core implements, the
model description :class:`ModelSpec`, and :class:`SpecError`, the one error every spec problem
raises. ``core.data``, ``core.models``, ``core.optim`` and ``core.train`` take their name lists
from here and ``studies.spec`` builds its choices from them, so a name exists in one place.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Literal

Dataset = Literal["digits", "mnist1d", "fashion_mnist", "cifar10"]
Model = Literal["mlp", "cnn", "cnn1d", "resnet"]
Optimizer = Literal["sgd", "sgdw", "adam", "adamw"]
Convention = Literal["paper", "pytorch", "normalized"]  # paper λ, PyTorch wd = λ/α, λ_norm
Schedule = Literal["constant", "step", "cosine", "warm_restarts"]
DType = Literal["float32", "float64"]
DecayRule = Literal["matrices", "all"]  # decay tensors with ndim >= 2, or every tensor

DATASETS: tuple[str, ...] = typing.get_args(Dataset)
MODELS: tuple[str, ...] = typing.get_args(Model)
OPTIMIZERS: tuple[str, ...] = typing.get_args(Optimizer)
CONVENTIONS: tuple[str, ...] = typing.get_args(Convention)
SCHEDULES: tuple[str, ...] = typing.get_args(Schedule)
DTYPES: tuple[str, ...] = typing.get_args(DType)
DECAY_RULES: tuple[str, ...] = typing.get_args(DecayRule)

MAX_WIDTH = 16_384  # widest layer: MLP widths, CNN channels, ResNet width


class SpecError(ValueError):
    """An invalid spec: one line, starting with the dotted path of the offending field.

    ``path`` is the field path (``"lr.count"``, ``"schedules[1].t0"``; ``"spec"`` for the
    document as a whole, ``"yaml"`` for a syntax error) and ``reason`` says what is wrong and
    what is allowed, e.g. ``lr.count: must be an integer in [1, 20000], got 0``.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}" if path else reason)


def show(value: Any) -> str:
    """A value as an error message shows it (YAML spelling for null and booleans)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, list | tuple):
        return "a list"
    return "a mapping" if isinstance(value, dict) else type(value).__name__


def _int(path: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= (high or value):
        bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise SpecError(path, f"must be an integer {bounds}, got {show(value)}")
    return value


def _ints(path: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list | tuple):
        raise SpecError(path, f"must be a list, got {show(value)}")
    if not value:
        raise SpecError(path, "must be a list of at least 1 item, got 0")
    return tuple(_int(f"{path}[{i}]", v, 1, MAX_WIDTH) for i, v in enumerate(value))


def _about(title: str, description: str, **extra: Any) -> dict[str, Any]:
    """Field metadata named like pydantic's ``Field`` arguments (see :class:`ModelSpec`)."""
    return {"title": title, "description": description, **extra}


_WIDTHS = {"type": "integer", "minimum": 1, "maximum": MAX_WIDTH}


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of the classifier every optimizer in a study trains.

    Only the fields of the chosen ``name`` matter (``when`` in each field's metadata); the
    others keep their defaults, which a study spec shows. ``norm`` (BatchNorm) applies to every
    architecture. Lists are stored as tuples, so a spec stays hashable.

    Each field's ``metadata`` holds pydantic ``Field`` arguments (title, description, ge,
    json_schema_extra), which pydantic reads from stdlib dataclasses: ``studies.spec`` reuses
    this class with these descriptions, while core never imports pydantic (a GPU machine runs
    core without it). ``__post_init__`` validates for every caller, since stdlib metadata cannot
    make pydantic refuse ``true`` or ``2.0`` in ``widths``, nor bound its items:
    ``widths[1]: must be an integer in [1, 16384], got 0``.
    """

    name: Model = dataclasses.field(metadata=_about(
        "Model", "Network: mlp (fully connected), cnn (small convolutional net for images), "
        "cnn1d (1-D convolutional net for MNIST-1D's signals) or resnet (CIFAR-style residual "
        "net of depth 6n+2)."))
    widths: tuple[int, ...] = dataclasses.field(default=(128, 128), metadata=_about(
        "Hidden widths", "Widths of the MLP's hidden layers (one Linear+ReLU each), from input "
        "to output.", min_length=1,
        json_schema_extra={"items": _WIDTHS, "when": {"name": ["mlp"]}}))
    channels: tuple[int, ...] = dataclasses.field(default=(32, 64), metadata=_about(
        "Channels", "Output channels of the CNN's blocks, from input to output (cnn: 3x3 conv + "
        "2x2 pool; cnn1d: stride-2 Conv1d, the MNIST-1D paper's net is [25, 25, 25]).",
        min_length=1,
        json_schema_extra={"items": _WIDTHS, "when": {"name": ["cnn", "cnn1d"]}}))
    depth: int = dataclasses.field(default=20, metadata=_about(
        "Depth", "ResNet depth 6n+2 (8, 14, 20, 26, ...): n two-layer residual blocks in each of "
        "three stages, plus the first convolution and the classifier.", ge=8,
        json_schema_extra={"when": {"name": ["resnet"]}}))
    width: int = dataclasses.field(default=16, metadata=_about(
        "Width", "Channels of the ResNet's first stage; the second and third stages have twice "
        "and four times as many.", ge=1, le=MAX_WIDTH,
        json_schema_extra={"when": {"name": ["resnet"]}}))
    norm: bool = dataclasses.field(default=True, metadata=_about(
        "BatchNorm", "Whether the network puts BatchNorm after each hidden layer or convolution "
        "(every model; off shows how normalization changes weight decay's role)."))

    def __post_init__(self) -> None:
        if self.name not in MODELS:
            raise SpecError("name", f"must be one of {', '.join(MODELS)}, got {show(self.name)}")
        object.__setattr__(self, "widths", _ints("widths", self.widths))
        object.__setattr__(self, "channels", _ints("channels", self.channels))
        _int("depth", self.depth, 8)
        if self.depth % 6 != 2:
            raise SpecError("depth", f"must be 6n+2 (8, 14, 20, 26, ...), got {self.depth}")
        _int("width", self.width, 1, MAX_WIDTH)
        if not isinstance(self.norm, bool):
            raise SpecError("norm", f"must be true or false, got {show(self.norm)}")

    @property
    def blocks_per_stage(self) -> int:
        """ResNet residual blocks in each of the three stages: n in depth = 6n + 2."""
        return (self.depth - 2) // 6

    def applies(self, field: str) -> bool:
        """Whether ``field`` matters for this model (``name`` and ``norm`` always do)."""
        extra = MODEL_FIELDS[field].metadata.get("json_schema_extra", {})
        return self.name in extra.get("when", {}).get("name", MODELS)


MODEL_FIELDS = {f.name: f for f in dataclasses.fields(ModelSpec)}
