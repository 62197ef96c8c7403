"""The study spec: one typed, frozen, validated tree of dataclasses (private module).

Every field is declared with ``spec_field`` (a ``dataclasses.field`` carrying the field's
description; ruff's RUF009 cannot know that, hence its ``noqa`` on section fields). Every
dataclass validates itself in ``__post_init__`` from the metadata of its fields (see
``_fields``), so a spec built in Python is checked exactly like one read from YAML. Cross-field
rules (mode, overrides, schedules vs epochs, the size guard) live in :class:`StudySpec`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import yaml

from studies.spec._errors import SpecError
from studies.spec._fields import (
    FieldInfo,
    SectionInfo,
    describe,
    spec_field,
    to_plain,
    validate_fields,
)

# The same names as core.data.DATASETS and core.models.MODELS (tested), spelled out here so
# the spec does not import torch.
DATASETS: tuple[str, ...] = ("digits", "mnist1d", "fashion_mnist", "cifar10")
MODELS: tuple[str, ...] = ("mlp", "cnn", "cnn1d", "resnet")
OPTIMIZERS: tuple[str, ...] = ("sgd", "sgdw", "adam", "adamw")
CONVENTIONS: tuple[str, ...] = ("paper", "pytorch", "normalized")
SCHEDULES: tuple[str, ...] = ("constant", "step", "cosine", "warm_restarts")
MODES: tuple[str, ...] = ("grid", "tune")
SAMPLERS: tuple[str, ...] = ("tpe", "random")
PRUNERS: tuple[str, ...] = ("median", "hyperband", "none")
DECAY_RULES: tuple[str, ...] = ("matrices", "all")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
DTYPES: tuple[str, ...] = ("float32", "float64")

MAX_CELLS = 20_000  # largest grid a spec may describe: beyond it, use mode "tune"
MAX_SEED = 2**32 - 1  # numpy's seed range, the narrowest of the libraries that take seeds
MAX_EPOCHS = 10_000  # longest trial (the paper's longest budget is 1800 epochs)
MAX_WIDTH = 16_384  # widest layer: MLP widths, CNN channels, ResNet width
# float32's smallest normal number, 2**-126 ≈ 1.18e-38: smaller learning rates train in
# float32 as 0 (below 1.4e-45) or with almost no significant bits.
MIN_LR = 2.0**-126

_SGD_FAMILY = ("sgd", "sgdw")
_ADAM_FAMILY = ("adam", "adamw")

_NAME_PATTERN = r"[A-Za-z0-9_.\-]{1,64}"
_NAME_TEXT = "1-64 characters of letters, digits, '_', '.' and '-'"


# --- grids ----------------------------------------------------------------------------------


def _log(x: float, base: float) -> float:
    # log2 and log10 are exact on powers of their base, so 2**-10 endpoints give exact steps.
    if base == 2.0:
        return math.log2(x)
    if base == 10.0:
        return math.log10(x)
    return math.log(x) / math.log(base)


def log_grid(lo: float, hi: float, count: int, base: float = 2.0) -> tuple[float, ...]:
    """``count`` values base**k, k evenly spaced from log_base(lo) to log_base(hi).

    The endpoints are exactly ``lo`` and ``hi``; consecutive values have the constant ratio
    (hi/lo)**(1/(count-1)). The base does not change the values in exact arithmetic, but powers
    of the base come out exact (base 2: the paper's log₂ grids).
    """
    if count == 1:
        return (lo,)
    a, b = _log(lo, base), _log(hi, base)
    inner = (base ** (a + (b - a) * i / (count - 1)) for i in range(1, count - 1))
    return (lo, *inner, hi)


def _check_grid(grid: Any, *, allow_empty: bool, range_only: tuple[str, ...] = ()) -> None:
    """The explicit-values-or-log-range rule shared by both grids; fills in defaults."""
    range_fields = ("min", "max", "count", "base", *range_only)
    if grid.values is not None:
        for name in range_fields:
            if getattr(grid, name) is not None:
                raise SpecError(
                    name, "not allowed together with values (give values, or min, max and count)"
                )
        object.__setattr__(grid, "_points", grid.values)
        return
    if all(getattr(grid, name) is None for name in range_fields):
        if allow_empty:
            object.__setattr__(grid, "_points", ())
            return
        raise SpecError("", "give values, or min, max and count")
    for name in ("min", "max", "count"):
        if getattr(grid, name) is None:
            raise SpecError(name, "required for a log range (or give values instead)")
    if grid.max < grid.min:
        raise SpecError("max", f"must be >= min ({grid.min!r}), got {grid.max!r}")
    if grid.max == grid.min and grid.count != 1:
        raise SpecError("count", f"must be 1 when min == max, got {grid.count}")
    if grid.max > grid.min and grid.count == 1:
        raise SpecError("count", "must be >= 2 when min < max, got 1")
    if grid.base is None:
        object.__setattr__(grid, "base", 2.0)
    points = log_grid(grid.min, grid.max, grid.count, grid.base)
    if any(b <= a for a, b in itertools.pairwise(points)):
        raise SpecError("count", f"too many values between min and max: {grid.count} collide")
    object.__setattr__(grid, "_points", points)


_GRID_NOTE = "give either values, or min, max and count"


def _check_float32(section: Any, names: tuple[str, ...]) -> None:
    """Refuse positive values float32 training cannot hold (they round to 0 or to a few bits)."""
    for name in names:
        value = getattr(section, name)
        items = value if isinstance(value, tuple) else (value,)
        for i, x in enumerate(items):
            if x is not None and 0 < x < MIN_LR:
                where = f"{name}[{i}]" if isinstance(value, tuple) else name
                raise SpecError(where, f"must be >= 2**-126 ≈ 1.18e-38 (smaller values round "
                                f"to 0 in float32 training), got {x!r}")


@dataclass(frozen=True, kw_only=True)
class LrGrid:
    """A grid of initial learning rates α: explicit ``values`` or a log range.

    The log range is ``count`` values base**k with k evenly spaced from log_base(min) to
    log_base(max), both endpoints included and exact (see :func:`log_grid`).
    """

    values: tuple[float, ...] | None = spec_field(  # explicit α values, in the given order
        label="Learning rates",
        help=f"Explicit initial learning rates α, each > 0 ({_GRID_NOTE}).",
        kind="list",
        item="float",
        low=0,
        low_open=True,
        min_items=1,
        unique=True,
        log=True,
        optional=True,
        default=None,
    )
    min: float | None = spec_field(  # smallest α of the log range
        label="Smallest learning rate",
        help="Smallest initial learning rate α of the log-spaced grid (> 0).",
        kind="float",
        low=0,
        low_open=True,
        log=True,
        optional=True,
        default=None,
    )
    max: float | None = spec_field(  # largest α of the log range
        label="Largest learning rate",
        help="Largest initial learning rate α of the log-spaced grid (>= min).",
        kind="float",
        low=0,
        low_open=True,
        log=True,
        optional=True,
        default=None,
    )
    count: int | None = spec_field(  # number of log-spaced values, endpoints included
        label="Learning rates in the grid",
        help=(
            "Number of log-spaced learning rates from min to max, both included (1 iff min == max)."
        ),
        kind="int",
        low=1,
        high=MAX_CELLS,
        optional=True,
        default=None,
    )
    base: float | None = spec_field(  # log base; 2.0 when a range is given
        label="Log base",
        help=(
            "Base b of the log grid, whose values are b**k for evenly spaced k (2: the paper's "
            "log₂ axes, exact powers of two)."
        ),
        kind="float",
        low=1,
        low_open=True,
        optional=True,
        lazy=True,
        default=2.0,
    )

    def __post_init__(self) -> None:
        validate_fields(self)
        _check_float32(self, ("values", "min", "max"))
        _check_grid(self, allow_empty=False)

    def expand(self) -> tuple[float, ...]:
        """The learning rates of the grid, in order."""
        return self._points  # type: ignore[attr-defined]

    @property
    def size(self) -> int:
        """Number of learning rates in the grid."""
        return len(self._points)  # type: ignore[attr-defined]


@dataclass(frozen=True, kw_only=True)
class WeightDecayGrid:
    """A grid of weight decays in a stated ``convention``: explicit ``values`` or a log range.

    Explicit values may include 0 (no decay); a log range may add 0 with ``include_zero``. In
    mode "tune" only ``convention`` is given (the search range is ``tune.weight_decay``).
    """

    convention: str = spec_field(  # what the numbers mean: paper λ, PyTorch wd or λ_norm
        label="Weight-decay convention",
        help=(
            "Convention of every weight decay in the spec: paper (λ; AdamW and SGDW shrink the "
            "weights by η_t·λ per step, Adam and SGD add λ·θ to the gradient), pytorch "
            "(wd = λ/α, as torch.optim.AdamW's weight_decay) or normalized "
            "(λ_norm, with λ = λ_norm·√(b/(B·T)), paper Appendix B)."
        ),
        kind="choice",
        choices=CONVENTIONS,
    )
    values: tuple[float, ...] | None = spec_field(  # explicit values, in the given order
        label="Weight decays",
        help=(
            "Explicit weight decays in weight_decay.convention, each >= 0 with 0 meaning no decay "
            f"({_GRID_NOTE})."
        ),
        kind="list",
        item="float",
        low=0,
        min_items=1,
        unique=True,
        optional=True,
        default=None,
    )
    min: float | None = spec_field(  # smallest nonzero decay of the log range
        label="Smallest weight decay",
        help=(
            "Smallest nonzero weight decay of the log-spaced grid (> 0), in "
            "weight_decay.convention."
        ),
        kind="float",
        low=0,
        low_open=True,
        log=True,
        optional=True,
        default=None,
    )
    max: float | None = spec_field(  # largest decay of the log range
        label="Largest weight decay",
        help="Largest weight decay of the log-spaced grid (>= min), in weight_decay.convention.",
        kind="float",
        low=0,
        low_open=True,
        log=True,
        optional=True,
        default=None,
    )
    count: int | None = spec_field(  # number of log-spaced values, endpoints included
        label="Weight decays in the grid",
        help=(
            "Number of log-spaced weight decays from min to max, both included (1 iff min == max)."
        ),
        kind="int",
        low=1,
        high=MAX_CELLS,
        optional=True,
        default=None,
    )
    base: float | None = spec_field(  # log base; 2.0 when a range is given
        label="Log base",
        help=(
            "Base b of the log grid, whose values are b**k for evenly spaced k (2: the paper's "
            "log₂ axes, exact powers of two)."
        ),
        kind="float",
        low=1,
        low_open=True,
        optional=True,
        lazy=True,
        default=2.0,
    )
    include_zero: bool | None = spec_field(  # prepend 0 to a log range (default False)
        label="Include zero",
        help=(
            "Whether a log range also gets a weight decay of 0, the no-regularization baseline, in"
            " front."
        ),
        kind="bool",
        optional=True,
        lazy=True,
        default=False,
    )

    def __post_init__(self) -> None:
        validate_fields(self)
        _check_grid(self, allow_empty=True, range_only=("include_zero",))
        if self.values is None and self.min is not None:
            if self.include_zero is None:
                object.__setattr__(self, "include_zero", False)
            if self.include_zero:
                object.__setattr__(self, "_points", (0.0, *self._points))  # type: ignore[attr-defined]

    @property
    def is_empty(self) -> bool:
        """True when only the convention is given (mode "tune")."""
        return not self._points  # type: ignore[attr-defined]

    def expand(self) -> tuple[float, ...]:
        """The weight decays of the grid, in order, in :attr:`convention`."""
        return self._points  # type: ignore[attr-defined]

    @property
    def size(self) -> int:
        """Number of weight decays in the grid."""
        return len(self._points)  # type: ignore[attr-defined]


@dataclass(frozen=True, kw_only=True)
class LogRange:
    """A log-uniform search range (min, max) for mode "tune"."""

    min: float = spec_field(  # lower end, > 0
        label="From",
        help=(
            "Lower end of the log-uniform search range: α for tune.lr, the weight decay in "
            "weight_decay.convention for tune.weight_decay."
        ),
        kind="float",
        low=0,
        low_open=True,
        log=True,
    )
    max: float = spec_field(  # upper end, > min
        label="To",
        help="Upper end of the log-uniform search range (> min), in the same units as min.",
        kind="float",
        low=0,
        low_open=True,
        log=True,
    )

    def __post_init__(self) -> None:
        validate_fields(self)
        _check_float32(self, ("min", "max"))
        if self.max <= self.min:
            raise SpecError("max", f"must be > min ({self.min!r}), got {self.max!r}")


# --- sections -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DataSpec:
    """Which dataset, and how its training split is subsampled and split."""

    dataset: str = spec_field(  # one of DATASETS
        label="Dataset",
        help=(
            "Classification dataset: scikit-learn's 8×8 digits (fast on a CPU), MNIST-1D (10 "
            "classes of length-40 signals, generated offline; 4,000 train / 1,000 test; harder, "
            "still CPU-sized), Fashion-MNIST or CIFAR-10 (the paper's)."
        ),
        kind="choice",
        choices=DATASETS,
    )
    train_size: int | None = spec_field(  # stratified subsample of the train split; None = all
        label="Training images",
        help=(
            "Number of images drawn, stratified by class, from the training split (null: the whole"
            " split)."
        ),
        kind="int",
        low=10,
        optional=True,
        default=None,
    )
    val_fraction: float = spec_field(  # fraction held out for validation
        label="Validation fraction",
        help=(
            "Fraction of the training images held out, stratified by class, as the validation set "
            "that tuning and pruning read."
        ),
        kind="float",
        low=0,
        low_open=True,
        high=0.5,
        default=0.1,
    )
    split_seed: int = spec_field(  # seed of the subsample and the split, not of training
        label="Split seed",
        help=(
            "Seed of the subsample and the train/validation split, kept apart from the training "
            "seeds so every trial sees the same data."
        ),
        kind="int",
        low=0,
        high=MAX_SEED,
        default=0,
    )
    num_samples: int | None = spec_field(  # mnist1d only: signals generated, train + test
        label="Signals generated",
        help=(
            "How many MNIST-1D signals are generated, train and test together (the first 80 % "
            "train, the rest test; a multiple of 10; 5,000 is the standard 4,000 / 1,000 split)."
        ),
        kind="int",
        low=50,
        high=1_000_000,
        default=5000,
        when=("dataset", ("mnist1d",)),
    )

    def __post_init__(self) -> None:
        validate_fields(self, noun="dataset")
        if self.num_samples is not None and self.num_samples % 10:
            # The generator draws num_samples / 10 signals per class.
            raise SpecError("num_samples", f"must be a multiple of 10, got {self.num_samples}")


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """The network; the fields that apply depend on ``name``."""

    name: str = spec_field(  # one of MODELS
        label="Model",
        help=(
            "Network: mlp (fully connected), cnn (small convolutional net for images), cnn1d "
            "(1-D convolutional net for MNIST-1D's signals) or resnet (CIFAR-style residual net "
            "of depth 6n+2)."
        ),
        kind="choice",
        choices=MODELS,
    )
    widths: tuple[int, ...] | None = spec_field(  # mlp only
        label="Hidden widths",
        help="Widths of the MLP's hidden layers, from input to output.",
        kind="list",
        item="int",
        low=1,
        high=MAX_WIDTH,
        min_items=1,
        default=(128, 128),
        when=("name", ("mlp",)),
    )
    channels: tuple[int, ...] | None = spec_field(  # cnn and cnn1d only
        label="Channels",
        help=(
            "Output channels of the CNN's convolution blocks, from input to output (cnn1d: "
            "stride-2 Conv1d layers; the MNIST-1D paper's net is [25, 25, 25])."
        ),
        kind="list",
        item="int",
        low=1,
        high=MAX_WIDTH,
        min_items=1,
        default=(32, 64),
        when=("name", ("cnn", "cnn1d")),
    )
    depth: int | None = spec_field(  # resnet only: 6n+2
        label="Depth",
        help=(
            "ResNet depth 6n+2 (8, 14, 20, 26, ...): n two-layer residual blocks in each of three "
            "stages, plus the first convolution and the classifier."
        ),
        kind="int",
        low=8,
        default=20,
        when=("name", ("resnet",)),
    )
    width: int | None = spec_field(  # resnet only: channels of the first stage
        label="Width",
        help=(
            "Channels of the ResNet's first stage; the second and third stages have twice and four"
            " times as many."
        ),
        kind="int",
        low=1,
        high=MAX_WIDTH,
        default=16,
        when=("name", ("resnet",)),
    )
    norm: bool | None = spec_field(  # every model; on unless switched off
        label="BatchNorm",
        help=(
            "Whether the network puts BatchNorm after each hidden layer or convolution (every "
            "model; off shows how normalization changes weight decay's role)."
        ),
        kind="bool",
        default=True,
        when=("name", MODELS),
    )

    def __post_init__(self) -> None:
        validate_fields(self, noun="model")
        if self.depth is not None and self.depth % 6 != 2:
            raise SpecError("depth", f"must be 6n+2 (8, 14, 20, 26, ...), got {self.depth}")


@dataclass(frozen=True, kw_only=True)
class ScheduleSpec:
    """A learning-rate schedule η_t (PAPER.md section 4); which fields apply depends on ``name``."""

    name: str = spec_field(  # one of SCHEDULES; unique within StudySpec.schedules
        label="Schedule",
        help=(
            "constant (η_t = 1), step (η multiplied by factor at each milestone), cosine (annealed"
            " from 1 to eta_min over the run) or warm_restarts (SGDR: cosine restarted after "
            "periods of t0, t0·t_mult, t0·t_mult², ... epochs)."
        ),
        kind="choice",
        choices=SCHEDULES,
    )
    milestones: tuple[int, ...] | None = spec_field(  # step only: epochs, strictly increasing
        label="Milestones",
        help=(
            "Epochs at which the step schedule multiplies η by factor (paper: 30, 60 and 80 of "
            "100), strictly increasing and < epochs."
        ),
        kind="list",
        item="int",
        low=1,
        min_items=1,
        when=("name", ("step",)),
    )
    factor: float | None = spec_field(  # step only
        label="Drop factor",
        help="Multiplier of η at each milestone of the step schedule (paper: 0.1).",
        kind="float",
        low=0,
        low_open=True,
        high=1,
        default=0.1,
        when=("name", ("step",)),
    )
    eta_min: float | None = spec_field(  # cosine and warm_restarts: floor of η_t
        label="η_min",
        help=(
            "Smallest multiplier η_min that cosine annealing reaches, as a fraction of the initial"
            " learning rate (0: anneal to zero)."
        ),
        kind="float",
        low=0,
        high=1,
        high_open=True,
        default=0.0,
        when=("name", ("cosine", "warm_restarts")),
    )
    t0: float | None = spec_field(  # warm_restarts only: first period, in epochs
        label="T₀",
        help=(
            "Length T₀ of the first warm-restart period in epochs (may be fractional; T_cur "
            "advances every batch)."
        ),
        kind="float",
        low=0,
        low_open=True,
        when=("name", ("warm_restarts",)),
    )
    t_mult: float | None = spec_field(  # warm_restarts only: period growth factor
        label="T_mult",
        help=(
            "Factor T_mult by which each warm-restart period is longer than the last (paper: T₀ = "
            "100, T_mult = 2 restart at epochs 100, 300, 700)."
        ),
        kind="float",
        low=1,
        default=1.0,
        when=("name", ("warm_restarts",)),
    )
    warmup_epochs: float = spec_field(  # any schedule; 0 = no warm-up
        label="Warm-up epochs",
        help=(
            "Epochs of linear learning-rate warm-up at the start of training (common practice, not"
            " in the paper; 0 turns it off)."
        ),
        kind="float",
        low=0,
        default=0.0,
    )

    def __post_init__(self) -> None:
        validate_fields(self, noun="schedule")
        milestones = self.milestones or ()
        for i in range(1, len(milestones)):
            if milestones[i] <= milestones[i - 1]:
                raise SpecError(
                    f"milestones[{i}]",
                    f"must be > the milestone before it ({milestones[i - 1]}), got {milestones[i]}",
                )


@dataclass(frozen=True, kw_only=True)
class OverrideSpec:
    """Grids that replace the top-level ``lr`` / ``weight_decay`` for some optimizers.

    SGD's good learning rates are far larger than Adam's, so a Figure-2 study gives the SGD
    family its own learning-rate grid while both families keep one shared description.
    """

    optimizers: tuple[str, ...] = spec_field(  # which optimizers use these grids
        label="Optimizers",
        help=(
            "Optimizers that train on this entry's grids instead of the top-level lr / "
            "weight_decay (each optimizer in at most one entry)."
        ),
        kind="list",
        item="choice",
        choices=OPTIMIZERS,
        min_items=1,
        unique=True,
    )
    lr: LrGrid | None = spec_field(  # replaces StudySpec.lr for these optimizers  # noqa: RUF009
        label="Learning-rate grid",
        help="Initial learning rates α for these optimizers, in the same form as lr.",
        kind="section",
        section=LrGrid,
        section_kind="grid",
        optional=True,
        default=None,
    )
    weight_decay: WeightDecayGrid | None = spec_field(  # replaces StudySpec.weight_decay  # noqa: RUF009
        label="Weight-decay grid",
        help=(
            "Weight decays for these optimizers, in the same form and the same convention as "
            "weight_decay."
        ),
        kind="section",
        section=WeightDecayGrid,
        section_kind="grid",
        optional=True,
        default=None,
    )

    def __post_init__(self) -> None:
        validate_fields(self)
        if self.lr is None and self.weight_decay is None:
            raise SpecError("", "give lr or weight_decay (or both)")
        if self.weight_decay is not None and self.weight_decay.is_empty:
            raise SpecError("weight_decay", "give values, or min, max and count")


@dataclass(frozen=True, kw_only=True)
class TuneSpec:
    """How Optuna searches (mode "tune"): sampler, budget, pruner and log-uniform ranges."""

    sampler: str = spec_field(  # one of SAMPLERS
        label="Sampler",
        help=(
            "Optuna sampler that proposes each trial's learning rate and weight decay: tpe (Tree-"
            "structured Parzen Estimator) or random."
        ),
        kind="choice",
        choices=SAMPLERS,
        default="tpe",
    )
    n_trials: int = spec_field(  # search budget
        label="Trials",
        help="Number of trials the sampler proposes.",
        kind="int",
        low=1,
        high=MAX_CELLS,
    )
    pruner: str = spec_field(  # one of PRUNERS
        label="Pruner",
        help=(
            "Optuna pruner that stops unpromising trials early from their per-epoch validation "
            "error: median, hyperband or none."
        ),
        kind="choice",
        choices=PRUNERS,
        default="median",
    )
    trials_per_batch: int = spec_field(  # population size: trials asked at once
        label="Trials per batch",
        help=(
            "Trials asked from the sampler at once and trained together as one population (faster,"
            " but the sampler learns from each batch only when it ends)."
        ),
        kind="int",
        low=1,
        high=MAX_CELLS,
        default=1,
    )
    lr: LogRange = spec_field(  # initial learning rate α range  # noqa: RUF009
        label="Learning-rate range",
        help="Log-uniform search range of the initial learning rate α.",
        kind="section",
        section=LogRange,
        section_kind="range",
    )
    weight_decay: LogRange = spec_field(  # range in StudySpec.weight_decay.convention  # noqa: RUF009
        label="Weight-decay range",
        help="Log-uniform search range of the weight decay, in weight_decay.convention.",
        kind="section",
        section=LogRange,
        section_kind="range",
    )

    def __post_init__(self) -> None:
        validate_fields(self)
        if self.trials_per_batch > self.n_trials:
            raise SpecError(
                "trials_per_batch",
                f"must be <= n_trials ({self.n_trials}), got {self.trials_per_batch}",
            )


@dataclass(frozen=True, kw_only=True)
class Cell:
    """One point of a grid study: a single configuration to train."""

    optimizer: str  # one of OPTIMIZERS
    lr: float  # initial learning rate α
    weight_decay: float  # in ``convention``
    seed: int  # training seed (initialization and data order)
    schedule: str  # name of the StudySpec schedule it trains with
    convention: str  # weight-decay convention of ``weight_decay``


# --- the study ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StudySpec:
    """One validated description of a study: everything needed to run, reopen or export it.

    Build it from YAML (:func:`load_spec`, :func:`spec_from_yaml`), from a mapping
    (:func:`spec_from_dict`) or directly; every route validates and raises :class:`SpecError`.
    :meth:`to_dict` gives the canonical JSON-ready form, which round-trips exactly.
    """

    name: str = spec_field(  # study name in the storage
        label="Study name",
        help=f"Name of the study in the Optuna storage: {_NAME_TEXT}.",
        kind="str",
        pattern=_NAME_PATTERN,
        pattern_text=_NAME_TEXT,
    )
    description: str = spec_field(  # what the study shows
        label="Description",
        help="What the study shows, in a sentence or two, for the dashboard.",
        kind="str",
        default="",
    )
    mode: str = spec_field(  # grid: every cell; tune: an Optuna sampler
        label="Mode",
        help=(
            "grid trains every cell of optimizers × lr × weight_decay × schedules × seeds; tune "
            "lets an Optuna sampler pick each trial's learning rate and weight decay."
        ),
        kind="choice",
        choices=MODES,
        default="grid",
    )
    data: DataSpec = spec_field(  # dataset and split  # noqa: RUF009
        label="Data",
        help="Dataset, training subsample and validation split.",
        kind="section",
        section=DataSpec,
    )
    model: ModelSpec = spec_field(  # network  # noqa: RUF009
        label="Model",
        help="The network every trial trains.",
        kind="section",
        section=ModelSpec,
    )
    optimizers: tuple[str, ...] = spec_field(  # subset of OPTIMIZERS, in display order
        label="Optimizers",
        help=(
            "Optimizers to compare: sgd and adam add λ·θ to the gradient (L2 regularization), sgdw"
            " and adamw decay the weights decoupled from the gradient step (the paper's methods)."
        ),
        kind="list",
        item="choice",
        choices=OPTIMIZERS,
        min_items=1,
        unique=True,
    )
    lr: LrGrid | None = spec_field(  # mode grid only  # noqa: RUF009
        label="Learning-rate grid",
        help="Grid of initial learning rates α, explicit or log-spaced (mode grid).",
        kind="section",
        section=LrGrid,
        section_kind="grid",
        optional=True,
        default=None,
        applies_when=(("mode", ("grid",)),),
    )
    weight_decay: WeightDecayGrid = spec_field(  # convention always; grid in mode grid only  # noqa: RUF009
        label="Weight decay",
        help=(
            "Weight-decay convention, and in mode grid the grid of weight decays in that "
            "convention."
        ),
        kind="section",
        section=WeightDecayGrid,
        section_kind="grid",
    )
    overrides: tuple[OverrideSpec, ...] = spec_field(  # per-optimizer grids (mode grid)
        label="Per-optimizer grids",
        help=(
            "Grids that replace lr or weight_decay for some optimizers, e.g. larger learning rates"
            " for sgd and sgdw (mode grid)."
        ),
        kind="sections",
        section=OverrideSpec,
        default=(),
        applies_when=(("mode", ("grid",)),),
    )
    momentum: float = spec_field(  # SGD β₁
        label="Momentum β₁",
        help=(
            "SGD momentum β₁ for sgd and sgdw; as in the paper the learning rate sits inside the "
            "momentum buffer."
        ),
        kind="float",
        low=0,
        high=1,
        high_open=True,
        default=0.9,
        applies_when=(("optimizers", _SGD_FAMILY),),
    )
    betas: tuple[float, float] = spec_field(  # Adam (β₁, β₂)
        label="Adam β₁, β₂",
        help="Adam's moment decay rates β₁ and β₂ for adam and adamw (paper: 0.9 and 0.999).",
        kind="list",
        item="float",
        low=0,
        high=1,
        high_open=True,
        min_items=2,
        max_items=2,
        default=(0.9, 0.999),
        applies_when=(("optimizers", _ADAM_FAMILY),),
    )
    eps: float = spec_field(  # Adam ε
        label="Adam ε",
        help="Adam's ε for adam and adamw, added outside the square root of the bias-corrected v̂.",
        kind="float",
        low=0,
        low_open=True,
        log=True,
        default=1e-8,
        applies_when=(("optimizers", _ADAM_FAMILY),),
    )
    decay: str = spec_field(  # which parameters get weight decay / L2
        label="Decayed parameters",
        help=(
            "Parameters that weight decay or L2 applies to: matrices (tensors with ndim >= 2, "
            "leaving biases and normalization weights alone, the common practice) or all."
        ),
        kind="choice",
        choices=DECAY_RULES,
        default="matrices",
    )
    schedules: tuple[ScheduleSpec, ...] = spec_field(  # one or more; several multiply the grid
        label="Schedules",
        help=(
            "Learning-rate schedules η_t; several multiply the grid (Figure 1), and each needs a "
            "different name."
        ),
        kind="sections",
        section=ScheduleSpec,
        min_items=1,
        default=(ScheduleSpec(name="constant"),),
    )
    epochs: int = spec_field(  # length of every trial
        label="Epochs",
        help=(
            "Training epochs of every trial (T in the normalized weight decay, except under warm "
            "restarts where T is the period)."
        ),
        kind="int",
        low=1,
        high=MAX_EPOCHS,
    )
    batch_size: int = spec_field(  # minibatch size b
        label="Batch size",
        help="Minibatch size b (also b in the normalized weight decay).",
        kind="int",
        low=1,
    )
    seeds: tuple[int, ...] = spec_field(  # distinct training seeds
        label="Seeds",
        help="Training seeds (initialization and data order); every cell trains once per seed.",
        kind="list",
        item="int",
        low=0,
        high=MAX_SEED,
        min_items=1,
        unique=True,
        default=(0,),
    )
    tune: TuneSpec | None = spec_field(  # mode tune only  # noqa: RUF009
        label="Tuning",
        help="Sampler, budget, pruner and search ranges (mode tune).",
        kind="section",
        section=TuneSpec,
        optional=True,
        default=None,
        applies_when=(("mode", ("tune",)),),
    )
    device: str = spec_field(  # where trials train
        label="Device",
        help="Where trials train: auto uses a GPU when one is available, else the CPU.",
        kind="choice",
        choices=DEVICES,
        default="auto",
    )
    dtype: str = spec_field(  # floating-point precision
        label="Precision",
        help=(
            "Floating-point type of the parameters and optimizer state (float64 for parity checks)."
        ),
        kind="choice",
        choices=DTYPES,
        default="float32",
    )

    def __post_init__(self) -> None:
        validate_fields(self)
        if self.mode == "grid":
            self._check_grid_mode()
        else:
            self._check_tune_mode()
        self._check_schedules()
        n = self.n_cells
        if n > MAX_CELLS:
            factors = " + ".join(
                f"{opt} {self._lr_grid(opt).size}×{self._wd_grid(opt).size}"  # type: ignore[union-attr]
                for opt in self.optimizers
            )
            raise SpecError(
                "optimizers × lr × weight_decay × schedules × seeds",
                f"{n} cells (({factors}) × {len(self.schedules)} × {len(self.seeds)}) is more "
                f"than the limit of {MAX_CELLS}; use coarser grids or mode 'tune'",
            )

    def _check_grid_mode(self) -> None:
        if self.lr is None:
            raise SpecError("lr", "required in mode 'grid'")
        if self.weight_decay.is_empty:
            raise SpecError("weight_decay", "give values, or min, max and count (mode 'grid')")
        if self.tune is not None:
            raise SpecError("tune", "not allowed in mode 'grid' (set mode: tune to use it)")
        claimed: dict[str, int] = {}
        for i, override in enumerate(self.overrides):
            for j, opt in enumerate(override.optimizers):
                path = f"overrides[{i}].optimizers[{j}]"
                if opt not in self.optimizers:
                    raise SpecError(path, f"{opt!r} is not one of optimizers")
                if opt in claimed:
                    raise SpecError(path, f"{opt!r} already has grids in overrides[{claimed[opt]}]")
                claimed[opt] = i
            wd = override.weight_decay
            if wd is not None and wd.convention != self.weight_decay.convention:
                raise SpecError(
                    f"overrides[{i}].weight_decay.convention",
                    f"must be weight_decay.convention ({self.weight_decay.convention!r}), "
                    f"got {wd.convention!r}",
                )

    def _check_tune_mode(self) -> None:
        if self.tune is None:
            raise SpecError("tune", "required in mode 'tune'")
        if self.lr is not None:
            raise SpecError("lr", "not allowed in mode 'tune' (the search range is tune.lr)")
        if not self.weight_decay.is_empty:
            given = next(
                name
                for name in ("values", "min", "max", "count", "base", "include_zero")
                if getattr(self.weight_decay, name) is not None
            )
            raise SpecError(
                f"weight_decay.{given}",
                "not allowed in mode 'tune' (give only the convention; the search range is "
                "tune.weight_decay)",
            )
        if self.overrides:
            raise SpecError("overrides", "not allowed in mode 'tune'")

    def _check_schedules(self) -> None:
        seen: set[str] = set()
        for i, schedule in enumerate(self.schedules):
            if schedule.name in seen:
                raise SpecError(
                    f"schedules[{i}].name",
                    f"duplicate schedule {schedule.name!r} (each schedule needs a different name)",
                )
            seen.add(schedule.name)
            for j, milestone in enumerate(schedule.milestones or ()):
                if milestone >= self.epochs:
                    raise SpecError(
                        f"schedules[{i}].milestones[{j}]",
                        f"must be < epochs ({self.epochs}), got {milestone}",
                    )
            if schedule.warmup_epochs >= self.epochs:
                raise SpecError(
                    f"schedules[{i}].warmup_epochs",
                    f"must be < epochs ({self.epochs}), got {schedule.warmup_epochs!r}",
                )

    # --- grids ----------------------------------------------------------------------------

    def _override(self, optimizer: str) -> OverrideSpec | None:
        return next((o for o in self.overrides if optimizer in o.optimizers), None)

    def _lr_grid(self, optimizer: str | None) -> LrGrid | None:
        override = self._override(optimizer) if optimizer is not None else None
        return override.lr if override is not None and override.lr is not None else self.lr

    def _wd_grid(self, optimizer: str | None) -> WeightDecayGrid:
        override = self._override(optimizer) if optimizer is not None else None
        if override is not None and override.weight_decay is not None:
            return override.weight_decay
        return self.weight_decay

    def _known(self, optimizer: str | None) -> None:
        if optimizer is not None and optimizer not in self.optimizers:
            raise ValueError(f"{optimizer!r} is not one of the optimizers {self.optimizers}")

    @property
    def convention(self) -> str:
        """The weight-decay convention of every weight decay in the spec."""
        return self.weight_decay.convention

    def lr_values(self, optimizer: str | None = None) -> tuple[float, ...]:
        """Learning rates α of ``optimizer``'s grid (its override, else ``lr``); () in mode tune."""
        self._known(optimizer)
        grid = self._lr_grid(optimizer)
        return grid.expand() if grid is not None else ()

    def weight_decay_values(self, optimizer: str | None = None) -> tuple[float, ...]:
        """Weight decays of ``optimizer``'s grid, in :attr:`convention`; () in mode tune."""
        self._known(optimizer)
        return self._wd_grid(optimizer).expand()

    @property
    def schedule_names(self) -> tuple[str, ...]:
        """Names of the schedules, in order (they are distinct)."""
        return tuple(s.name for s in self.schedules)

    def schedule_named(self, name: str) -> ScheduleSpec:
        """The schedule a :class:`Cell` names."""
        for schedule in self.schedules:
            if schedule.name == name:
                return schedule
        raise KeyError(f"no schedule {name!r} in this spec (schedules: {self.schedule_names})")

    @property
    def n_cells(self) -> int:
        """Number of grid cells; 0 in mode tune (trials come from the sampler)."""
        if self.mode != "grid":
            return 0
        per_setting = sum(
            self._lr_grid(opt).size * self._wd_grid(opt).size  # type: ignore[union-attr]
            for opt in self.optimizers
        )
        return per_setting * len(self.schedules) * len(self.seeds)

    def cells(self) -> list[Cell]:
        """Every grid cell, without duplicates; [] in mode tune.

        Order: seed, then schedule, then optimizer, then lr, then weight decay (outermost
        first), so the first seed's whole landscape comes before any repeat and a population
        of consecutive cells shares its seed and therefore its data order.
        """
        if self.mode != "grid":
            return []
        return [
            Cell(
                optimizer=opt,
                lr=lr,
                weight_decay=wd,
                seed=seed,
                schedule=schedule.name,
                convention=self.convention,
            )
            for seed in self.seeds
            for schedule in self.schedules
            for opt in self.optimizers
            for lr in self.lr_values(opt)
            for wd in self.weight_decay_values(opt)
        ]

    # --- export ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-ready form: every field with its resolved default, None left out.

        ``spec_from_dict(spec.to_dict()) == spec`` holds for every valid spec.
        """
        return to_plain(self)

    def to_yaml(self) -> str:
        """:meth:`to_dict` as YAML (what a preset file looks like, defaults spelled out)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def _describe() -> tuple[tuple[FieldInfo, ...], tuple[SectionInfo, ...]]:
    return describe(StudySpec)


FIELDS: tuple[FieldInfo, ...]
SECTIONS: tuple[SectionInfo, ...]
FIELDS, SECTIONS = _describe()


def field_info(path: str) -> FieldInfo:
    """The :class:`FieldInfo` of a leaf field, e.g. ``field_info("schedules[].t0")``."""
    for info in FIELDS:
        if info.path == path:
            return info
    raise KeyError(f"no field {path!r} in a study spec")
