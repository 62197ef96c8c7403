"""The study spec: one frozen, validated tree of pydantic models (private module).

Each field carries its title, a one-sentence description and its bounds (:func:`about`); the
same declaration validates values, words errors, builds the JSON Schema and the dashboard's
forms. Rules across fields (grids, mode, overrides, schedules vs epochs, the size guard) are
each section's :meth:`check`. The model is core's :class:`~core.catalog.ModelSpec` itself.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import yaml
from pydantic import Field, PlainValidator, PrivateAttr

from core.catalog import (
    MODEL_FIELDS,
    MODELS,
    Convention,
    Dataset,
    DecayRule,
    DType,
    ModelSpec,
    Optimizer,
    Schedule,
    SpecError,
    show,
)
from studies.spec._base import Section, about, plain, refuse_inapplicable

Mode = Literal["grid", "tune"]
Sampler = Literal["tpe", "random"]
Pruner = Literal["median", "hyperband", "none"]
Device = Literal["auto", "cpu", "cuda", "mps"]

MAX_CELLS = 20_000  # largest grid a spec may describe: beyond it, use mode "tune"
MAX_SEED = 2**32 - 1  # numpy's seed range, the narrowest of the libraries that take seeds
MAX_EPOCHS = 10_000  # longest trial (the paper's longest budget is 1800 epochs)
# float32's smallest normal number, 2**-126 ≈ 1.18e-38: smaller learning rates train in
# float32 as 0 (below 1.4e-45) or with almost no significant bits.
MIN_LR = 2.0**-126

_SGD_FAMILY = ["sgd", "sgdw"]
_ADAM_FAMILY = ["adam", "adamw"]
_NAME_TEXT = "1-64 characters of letters, digits, '_', '.' and '-'"
_GRID = "give either values, or min, max and count"
_BASE = ("Base b of the log grid, whose values are b**k for evenly spaced k (2: the paper's "
         "log₂ axes, exact powers of two).")

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
Milestone = Annotated[int, Field(ge=1)]


def _log(x: float, base: float) -> float:
    # log2 and log10 are exact on powers of their base, so 2**-10 endpoints give exact steps.
    return math.log2(x) if base == 2 else math.log10(x) if base == 10 else math.log(x, base)


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


def _float32(section: Section, *names: str) -> None:
    """Refuse positive values float32 training cannot hold (they round to 0 or to a few bits)."""
    for name in names:
        value = getattr(section, name)
        for i, x in enumerate(value if isinstance(value, tuple) else (value,)):
            if x is not None and 0 < x < MIN_LR:
                where = f"{name}[{i}]" if isinstance(value, tuple) else name
                raise SpecError(where, f"must be >= 2**-126 ≈ 1.18e-38 (smaller values round to "
                                f"0 in float32 training), got {x!r}")


class _Grid(Section):
    """Explicit ``values`` or a log range (``min``, ``max``, ``count``, ``base``)."""

    _points: tuple[float, ...] = PrivateAttr(default=())
    range_only: ClassVar[tuple[str, ...]] = ()  # range fields beyond min, max, count, base
    may_be_empty: ClassVar[bool] = False  # mode tune gives only a weight decay's convention
    if TYPE_CHECKING:  # the fields both grids declare, each with its own descriptions
        values: tuple[float, ...] | None
        min: float | None
        max: float | None
        count: int | None
        base: float | None

    def check(self) -> None:
        ranged = ("min", "max", "count", "base", *self.range_only)
        given = [n for n in ranged if n in self.model_fields_set and getattr(self, n) is not None]
        if self.values is not None and given:
            raise SpecError(given[0], "not allowed together with values (give values, or min, "
                            "max and count)")
        if self.values is not None or (not given and self.may_be_empty):
            for name in ranged:
                object.__setattr__(self, name, None)  # the defaults of a range do not apply
            self._points = self.values or ()
            return
        if not given:
            raise SpecError("", "give values, or min, max and count")
        for name in ranged:  # null in a range: the default (base 2, no zero)
            if getattr(self, name) is None:
                object.__setattr__(self, name, type(self).model_fields[name].default)
        if missing := next((n for n in ("min", "max", "count") if getattr(self, n) is None), ""):
            raise SpecError(missing, "required for a log range (or give values instead)")
        lo, hi, count = self.min, self.max, self.count
        if hi < lo:
            raise SpecError("max", f"must be >= min ({lo!r}), got {hi!r}")
        if hi == lo and count != 1:
            raise SpecError("count", f"must be 1 when min == max, got {count}")
        if hi > lo and count == 1:
            raise SpecError("count", "must be >= 2 when min < max, got 1")
        points = log_grid(lo, hi, count, self.base)
        if any(b <= a for a, b in itertools.pairwise(points)):
            raise SpecError("count", f"too many values between min and max: {count} collide")
        self._points = points

    def expand(self) -> tuple[float, ...]:
        """The values of the grid, in order."""
        return self._points


class LrGrid(_Grid):
    """A grid of initial learning rates α: explicit ``values`` or a log range, whose ``count``
    values base**k have k evenly spaced from log_base(min) to log_base(max), endpoints exact."""

    values: tuple[Positive, ...] | None = about(
        "Learning rates", f"Explicit initial learning rates α, each > 0 ({_GRID}).", None,
        strict=False, min_length=1, uniqueItems=True)
    min: float | None = about("Smallest learning rate", "Smallest initial learning rate α of "
                              "the log-spaced grid (> 0).", None, gt=0)
    max: float | None = about("Largest learning rate", "Largest initial learning rate α of the "
                              "log-spaced grid (>= min).", None, gt=0)
    count: int | None = about("Learning rates in the grid", "Number of log-spaced learning rates"
                              " from min to max, both included (1 iff min == max).", None,
                              ge=1, le=MAX_CELLS)
    base: float | None = about("Log base", _BASE, 2.0, gt=1)

    def check(self) -> None:
        _float32(self, "values", "min", "max")
        super().check()


class WeightDecayGrid(_Grid):
    """Weight decays in a stated ``convention``: explicit ``values`` (0 = no decay) or a log
    range, which ``include_zero`` may prefix with 0. Mode "tune" gives only ``convention``."""

    range_only = ("include_zero",)
    may_be_empty = True

    convention: Convention = about(
        "Weight-decay convention", "Convention of every weight decay in the spec: paper (λ; "
        "AdamW and SGDW shrink the weights by η_t·λ per step, Adam and SGD add λ·θ to the "
        "gradient), pytorch (wd = λ/α, as torch.optim.AdamW's weight_decay) or normalized "
        "(λ_norm, with λ = λ_norm·√(b/(B·T)), paper Appendix B).")
    values: tuple[NonNegative, ...] | None = about(
        "Weight decays", "Explicit weight decays in weight_decay.convention, each >= 0 with 0 "
        f"meaning no decay ({_GRID}).", None, strict=False, min_length=1, uniqueItems=True)
    min: float | None = about("Smallest weight decay", "Smallest nonzero weight decay of the "
                              "log-spaced grid (> 0), in weight_decay.convention.", None, gt=0)
    max: float | None = about("Largest weight decay", "Largest weight decay of the log-spaced "
                              "grid (>= min), in weight_decay.convention.", None, gt=0)
    count: int | None = about("Weight decays in the grid", "Number of log-spaced weight decays "
                              "from min to max, both included (1 iff min == max).", None,
                              ge=1, le=MAX_CELLS)
    base: float | None = about("Log base", _BASE, 2.0, gt=1)
    include_zero: bool | None = about(
        "Include zero", "Whether a log range also gets a weight decay of 0, the "
        "no-regularization baseline, in front.", False)

    def check(self) -> None:
        super().check()
        if self.include_zero:
            self._points = (0.0, *self._points)

    @property
    def is_empty(self) -> bool:
        """True when only the convention is given (mode "tune")."""
        return not self._points


class LogRange(Section):
    """A log-uniform search range (min, max) for mode "tune"."""

    min: float = about("From", "Lower end of the log-uniform search range: α for tune.lr, the "
                       "weight decay in weight_decay.convention for tune.weight_decay.", gt=0)
    max: float = about("To", "Upper end of the log-uniform search range (> min), in the same "
                       "units as min.", gt=0)

    def check(self) -> None:
        _float32(self, "min", "max")
        if self.max <= self.min:
            raise SpecError("max", f"must be > min ({self.min!r}), got {self.max!r}")


class DataSpec(Section):
    """Which dataset, and how its training split is subsampled and split."""

    noun = "dataset"
    dataset: Dataset = about(
        "Dataset", "Classification dataset: scikit-learn's 8×8 digits (fast on a CPU), MNIST-1D "
        "(10 classes of length-40 signals, generated offline; 4,000 train / 1,000 test; harder, "
        "still CPU-sized), Fashion-MNIST or CIFAR-10 (the paper's).")
    train_size: int | None = about(
        "Training images", "Number of images drawn, stratified by class, from the training "
        "split (null: the whole split).", None, ge=10)
    val_fraction: float = about(
        "Validation fraction", "Fraction of the training images held out, stratified by class, "
        "as the validation set that tuning and pruning read.", 0.1, gt=0, le=0.5)
    split_seed: int = about(
        "Split seed", "Seed of the subsample and the train/validation split, kept apart from "
        "the training seeds so every trial sees the same data.", 0, ge=0, le=MAX_SEED)
    num_samples: int | None = about(
        "Signals generated", "How many MNIST-1D signals are generated, train and test together "
        "(the first 80 % train, the rest test; a multiple of 10; 5,000 is the standard 4,000 / "
        "1,000 split).", 5000, ge=50, le=1_000_000, when={"dataset": ["mnist1d"]})

    def check(self) -> None:
        if self.num_samples is not None and self.num_samples % 10:
            # The generator draws num_samples / 10 signals per class.
            raise SpecError("num_samples", f"must be a multiple of 10, got {self.num_samples}")


_MODEL_EXTRAS = {n: f.metadata.get("json_schema_extra", {}) for n, f in MODEL_FIELDS.items()}


def _model_spec(value: Any) -> ModelSpec:
    """Core's ModelSpec from a mapping, refusing fields that do not apply to its name."""
    if isinstance(value, ModelSpec):
        return value
    if not isinstance(value, dict):
        raise SpecError("", f"must be a mapping of field names, got {show(value)}")
    for key in value:
        if key not in MODEL_FIELDS:
            raise SpecError(str(key), f"unknown key (allowed: {', '.join(MODEL_FIELDS)})")
    value = {k: v for k, v in value.items() if v is not None or k == "name"}  # null: default
    if "name" not in value:
        raise SpecError("name", "required")
    if value["name"] in MODELS:  # else ModelSpec refuses the name first, naming the choices
        refuse_inapplicable("model", value, list(value), _MODEL_EXTRAS)
    return ModelSpec(**value)


class ScheduleSpec(Section):
    """A learning-rate schedule η_t (PAPER.md section 4); which fields apply depends on ``name``."""

    noun = "schedule"
    name: Schedule = about(
        "Schedule", "constant (η_t = 1), step (η multiplied by factor at each milestone), cosine "
        "(annealed from 1 to eta_min over the run) or warm_restarts (SGDR: cosine restarted "
        "after periods of t0, t0·t_mult, t0·t_mult², ... epochs).")
    milestones: tuple[Milestone, ...] | None = about(
        "Milestones", "Epochs at which the step schedule multiplies η by factor (paper: 30, 60 "
        "and 80 of 100), strictly increasing and < epochs.", None, strict=False, min_length=1,
        when={"name": ["step"]})
    factor: float | None = about(
        "Drop factor", "Multiplier of η at each milestone of the step schedule (paper: 0.1).",
        0.1, gt=0, le=1, when={"name": ["step"]})
    eta_min: float | None = about(
        "η_min", "Smallest multiplier η_min that cosine annealing reaches, as a fraction of the "
        "initial learning rate (0: anneal to zero).", 0.0, ge=0, lt=1,
        when={"name": ["cosine", "warm_restarts"]})
    t0: float | None = about(
        "T₀", "Length T₀ of the first warm-restart period in epochs (may be fractional; T_cur "
        "advances every batch).", None, gt=0, when={"name": ["warm_restarts"]})
    t_mult: float | None = about(
        "T_mult", "Factor T_mult by which each warm-restart period is longer than the last "
        "(paper: T₀ = 100, T_mult = 2 restart at epochs 100, 300, 700).", 1.0, ge=1,
        when={"name": ["warm_restarts"]})
    warmup_epochs: float = about(
        "Warm-up epochs", "Epochs of linear learning-rate warm-up at the start of training "
        "(common practice, not in the paper; 0 turns it off).", 0.0, ge=0)

    def check(self) -> None:
        for i, (a, b) in enumerate(itertools.pairwise(self.milestones or ()), start=1):
            if b <= a:
                raise SpecError(f"milestones[{i}]", f"must be > the milestone before it ({a}), "
                                f"got {b}")


class OverrideSpec(Section):
    """Grids that replace the top-level ``lr`` / ``weight_decay`` for some optimizers: SGD's
    good learning rates are far larger than Adam's, so Figure 2 gives the SGD family its own."""

    optimizers: tuple[Optimizer, ...] = about(
        "Optimizers", "Optimizers that train on this entry's grids instead of the top-level lr / "
        "weight_decay (each optimizer in at most one entry).", strict=False, min_length=1,
        uniqueItems=True)
    lr: LrGrid | None = about("Learning-rate grid", "Initial learning rates α for these "
                              "optimizers, in the same form as lr.", None, form="grid")
    weight_decay: WeightDecayGrid | None = about(
        "Weight-decay grid", "Weight decays for these optimizers, in the same form and the same "
        "convention as weight_decay.", None, form="grid")

    def check(self) -> None:
        if self.lr is None and self.weight_decay is None:
            raise SpecError("", "give lr or weight_decay (or both)")
        if self.weight_decay is not None and self.weight_decay.is_empty:
            raise SpecError("weight_decay", "give values, or min, max and count")


class TuneSpec(Section):
    """How Optuna searches (mode "tune"): sampler, budget, pruner and log-uniform ranges."""

    sampler: Sampler = about(
        "Sampler", "Optuna sampler that proposes each trial's learning rate and weight decay: "
        "tpe (Tree-structured Parzen Estimator) or random.", "tpe")
    n_trials: int = about("Trials", "Number of trials the sampler proposes.", ge=1, le=MAX_CELLS)
    pruner: Pruner = about(
        "Pruner", "Optuna pruner that stops unpromising trials early from their per-epoch "
        "validation error: median, hyperband or none.", "median")
    trials_per_batch: int = about(
        "Trials per batch", "Trials asked from the sampler at once and trained together as one "
        "population (faster, but the sampler learns from each batch only when it ends).", 1,
        ge=1, le=MAX_CELLS)
    lr: LogRange = about("Learning-rate range", "Log-uniform search range of the initial "
                         "learning rate α.", form="range")
    weight_decay: LogRange = about("Weight-decay range", "Log-uniform search range of the weight "
                                   "decay, in weight_decay.convention.", form="range")

    def check(self) -> None:
        if self.trials_per_batch > self.n_trials:
            raise SpecError("trials_per_batch", f"must be <= n_trials ({self.n_trials}), got "
                            f"{self.trials_per_batch}")


class TransferSpec(Section):
    """A transfer family: one landscape repeated at 2 to 8 data-set sizes or widths.

    The least intrusive design: a family spec expands (:attr:`StudySpec.members`) into ordinary
    grid studies, one per scale, each fully resolved (the scaled field written out, named by
    :func:`member_name`, this section kept with its ``scale``). Runner, storage, resume,
    workers, exports and pages take them unchanged; only ``run`` runs the members in turn, and
    the Landscape page finds a member's siblings by name.
    """

    data: tuple[Positive, ...] | None = about(
        "Data-size scales", "Multiples of the training set to repeat the study at, e.g. 0.25, "
        "0.5, 1, 2 (MNIST-1D's data.num_samples and any data.train_size are scaled and "
        "rounded); give data or width.", None, strict=False, min_length=2, max_length=8,
        uniqueItems=True)
    width: tuple[Positive, ...] | None = about(
        "Width scales", "Multiples of every hidden width (MLP widths, CNN channels, ResNet "
        "width; rounded, at least 1) to repeat the study at; give data or width.", None,
        strict=False, min_length=2, max_length=8, uniqueItems=True)
    scale: float | None = about("Member scale", "This member's scale (written by the family's "
                                "expansion; empty in a family).", None, gt=0)

    @property
    def over(self) -> Literal["data", "width"]:
        return "data" if self.data is not None else "width"

    @property
    def scales(self) -> tuple[float, ...]:
        return self.data or self.width or ()

    def check(self) -> None:
        if (self.data is None) == (self.width is None):
            raise SpecError("", "give either data or width scales")
        if self.scale is not None and self.scale not in self.scales:
            raise SpecError("scale", f"must be one of the scales {list(self.scales)}, got "
                            f"{self.scale!r}")


def member_name(family: str, scale: float) -> str:
    """The study name of a transfer family's member: ``demo-x0.25``."""
    return f"{family}-x{scale:g}"


@dataclass(frozen=True, kw_only=True)
class Cell:
    """One point of a grid study: a single configuration to train."""

    optimizer: str  # one of OPTIMIZERS
    lr: float  # initial learning rate α
    weight_decay: float  # in ``convention``
    seed: int  # training seed (initialization and data order)
    schedule: str  # name of the StudySpec schedule it trains with
    convention: str  # weight-decay convention of ``weight_decay``


class StudySpec(Section):
    """One validated description of a study: everything needed to run, reopen or export it.

    Build it from YAML (:func:`load_spec`, :func:`spec_from_yaml`), from a mapping
    (:func:`spec_from_dict`) or directly; every route validates and raises :class:`SpecError`.
    :meth:`to_dict` gives the canonical JSON-ready form, which round-trips exactly.
    """

    name: str = about("Study name", f"Name of the study in the Optuna storage: {_NAME_TEXT}.",
                      pattern=r"^[A-Za-z0-9_.\-]{1,64}$", pattern_text=_NAME_TEXT)
    description: str = about("Description", "What the study shows, in a sentence or two, for the"
                             " dashboard.", "")
    mode: Mode = about(
        "Mode", "grid trains every cell of optimizers × lr × weight_decay × schedules × seeds; "
        "tune lets an Optuna sampler pick each trial's learning rate and weight decay.", "grid")
    data: DataSpec = about("Data", "Dataset, training subsample and validation split.")
    model: Annotated[ModelSpec, PlainValidator(_model_spec, json_schema_input_type=ModelSpec)] = (
        about("Model", "The network every trial trains; the fields that apply depend on name."))
    optimizers: tuple[Optimizer, ...] = about(
        "Optimizers", "Optimizers to compare: sgd and adam add λ·θ to the gradient (L2 "
        "regularization), sgdw and adamw decay the weights decoupled from the gradient step (the "
        "paper's methods).", strict=False, min_length=1, uniqueItems=True)
    lr: LrGrid | None = about(
        "Learning-rate grid", "Grid of initial learning rates α, explicit or log-spaced (mode "
        "grid).", None, form="grid", applies_when={"mode": ["grid"]})
    weight_decay: WeightDecayGrid = about(
        "Weight decay", "Weight-decay convention, and in mode grid the grid of weight decays in "
        "that convention.", form="grid")
    overrides: tuple[OverrideSpec, ...] = about(
        "Per-optimizer grids", "Grids that replace lr or weight_decay for some optimizers, e.g. "
        "larger learning rates for sgd and sgdw (mode grid).", (), strict=False,
        applies_when={"mode": ["grid"]})
    momentum: float = about(
        "Momentum β₁", "SGD momentum β₁ for sgd and sgdw; as in the paper the learning rate sits "
        "inside the momentum buffer.", 0.9, ge=0, lt=1, applies_when={"optimizers": _SGD_FAMILY})
    betas: tuple[Fraction, ...] = about(
        "Adam β₁, β₂", "Adam's moment decay rates β₁ and β₂ for adam and adamw (paper: 0.9 and "
        "0.999).", (0.9, 0.999), strict=False, min_length=2, max_length=2,
        applies_when={"optimizers": _ADAM_FAMILY})
    eps: float = about(
        "Adam ε", "Adam's ε for adam and adamw, added outside the square root of the "
        "bias-corrected v̂.", 1e-8, gt=0, applies_when={"optimizers": _ADAM_FAMILY})
    decay: DecayRule = about(
        "Decayed parameters", "Parameters that weight decay or L2 applies to: matrices (tensors "
        "with ndim >= 2, leaving biases and normalization weights alone, the common practice) or "
        "all.", "matrices")
    schedules: tuple[ScheduleSpec, ...] = about(
        "Schedules", "Learning-rate schedules η_t; several multiply the grid (Figure 1), and each "
        "needs a different name.", (ScheduleSpec(name="constant"),), strict=False, min_length=1)
    epochs: int = about(
        "Epochs", "Training epochs of every trial (T in the normalized weight decay, except under "
        "warm restarts where T is the period).", ge=1, le=MAX_EPOCHS)
    batch_size: int = about("Batch size", "Minibatch size b (also b in the normalized weight "
                            "decay).", ge=1)
    seeds: tuple[Seed, ...] = about(
        "Seeds", "Training seeds (initialization and data order); every cell trains once per "
        "seed.", (0,), strict=False, min_length=1, uniqueItems=True)
    tune: TuneSpec | None = about("Tuning", "Sampler, budget, pruner and search ranges (mode "
                                  "tune).", None, applies_when={"mode": ["tune"]})
    device: Device = about("Device", "Where trials train: auto uses a GPU when one is available, "
                           "else the CPU.", "auto")
    dtype: DType = about("Precision", "Floating-point type of the parameters and optimizer state "
                         "(float64 for parity checks).", "float32")
    transfer: TransferSpec | None = about(
        "Transfer family", "Repeat the study at several data-set sizes or widths, one study "
        "per scale named <name>-x<scale> (mode grid).", None, applies_when={"mode": ["grid"]})
    _members: tuple[StudySpec, ...] = PrivateAttr(default=())

    def check(self) -> None:
        if self.mode == "grid":
            if self.lr is None:
                raise SpecError("lr", "required in mode 'grid'")
            if self.weight_decay.is_empty:
                raise SpecError("weight_decay", "give values, or min, max and count (mode 'grid')")
            if self.tune is not None:
                raise SpecError("tune", "not allowed in mode 'grid' (set mode: tune to use it)")
            self._check_overrides()
        else:
            if self.tune is None:
                raise SpecError("tune", "required in mode 'tune'")
            if self.lr is not None:
                raise SpecError("lr", "not allowed in mode 'tune' (the search range is tune.lr)")
            for name in (n for n in WeightDecayGrid.model_fields if n != "convention"):
                if getattr(self.weight_decay, name) is not None:
                    raise SpecError(f"weight_decay.{name}", "not allowed in mode 'tune' (give "
                                    "only the convention; the search range is tune.weight_decay)")
            if self.overrides:
                raise SpecError("overrides", "not allowed in mode 'tune'")
        self._check_schedules()
        if self.transfer is not None:
            self._expand()
        if self.n_cells > MAX_CELLS:
            factors = " + ".join(f"{opt} {len(self.lr_values(opt))}×"
                                 f"{len(self.weight_decay_values(opt))}" for opt in self.optimizers)
            raise SpecError(
                "optimizers × lr × weight_decay × schedules × seeds",
                f"{self.n_cells} cells (({factors}) × {len(self.schedules)} × {len(self.seeds)}) "
                f"is more than the limit of {MAX_CELLS}; use coarser grids or mode 'tune'")

    def _check_overrides(self) -> None:
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
            if wd is not None and wd.convention != self.convention:
                raise SpecError(f"overrides[{i}].weight_decay.convention", "must be weight_decay"
                                f".convention ({self.convention!r}), got {wd.convention!r}")

    def _expand(self) -> None:
        """Validate a transfer family's members (one spec per scale) and keep them."""
        t = self.transfer
        if self.mode != "grid":
            raise SpecError("transfer", "only in mode 'grid' (a family repeats a landscape)")
        if t.scale is not None:  # a member: an ordinary study
            return
        if t.over == "data" and self.data.dataset != "mnist1d" and self.data.train_size is None:
            raise SpecError("transfer.data", f"needs data.train_size for {self.data.dataset!r}")
        seen: dict[Any, float] = {}
        self._members = ()  # pydantic may validate a spec twice
        for i, s in enumerate(t.scales):
            raw = self.to_dict()
            part = raw[t.over if t.over == "data" else "model"]
            for key in ("num_samples", "train_size", "widths", "channels", "width"):
                if (v := part.get(key)) is not None:  # too small data: DataSpec refuses it
                    part[key] = ([max(1, round(w * s)) for w in v] if isinstance(v, list)
                                 else max(1, round(v * s)))
            raw["transfer"]["scale"], raw["name"] = s, member_name(self.name, s)
            try:
                member = StudySpec.parse(raw)
            except SpecError as error:
                raise SpecError(f"transfer.{t.over}[{i}]", f"scale {s!r} gives an invalid "
                                f"study: {error}") from None
            if (key := (member.data, member.model)) in seen:  # rounding made them equal
                raise SpecError(f"transfer.{t.over}[{i}]", f"scale {s!r} gives the same study "
                                f"as scale {seen[key]!r}")
            seen[key] = s
            self._members += (member,)

    @property
    def members(self) -> tuple[StudySpec, ...]:
        """A transfer family's studies, one per scale in order; () for any other study."""
        return self._members

    def _check_schedules(self) -> None:
        seen: set[str] = set()
        for i, schedule in enumerate(self.schedules):
            path = f"schedules[{i}]"
            if schedule.name in seen:
                raise SpecError(f"{path}.name", f"duplicate schedule {schedule.name!r} (each "
                                "schedule needs a different name)")
            seen.add(schedule.name)
            for j, milestone in enumerate(schedule.milestones or ()):
                if milestone >= self.epochs:
                    raise SpecError(f"{path}.milestones[{j}]",
                                    f"must be < epochs ({self.epochs}), got {milestone}")
            if schedule.warmup_epochs >= self.epochs:
                raise SpecError(f"{path}.warmup_epochs", f"must be < epochs ({self.epochs}), got "
                                f"{schedule.warmup_epochs!r}")

    # --- grids ----------------------------------------------------------------------------
    def _grids(self, optimizer: str | None) -> tuple[LrGrid | None, WeightDecayGrid]:
        if optimizer is not None and optimizer not in self.optimizers:
            raise ValueError(f"{optimizer!r} is not one of the optimizers {self.optimizers}")
        o = next((o for o in self.overrides if optimizer in o.optimizers), None)
        return ((o and o.lr) or self.lr), ((o and o.weight_decay) or self.weight_decay)

    @property
    def convention(self) -> str:
        """The weight-decay convention of every weight decay in the spec."""
        return self.weight_decay.convention

    def lr_values(self, optimizer: str | None = None) -> tuple[float, ...]:
        """Learning rates α of ``optimizer``'s grid (its override, else ``lr``); () in mode tune."""
        return grid.expand() if (grid := self._grids(optimizer)[0]) is not None else ()

    def weight_decay_values(self, optimizer: str | None = None) -> tuple[float, ...]:
        """Weight decays of ``optimizer``'s grid, in :attr:`convention`; () in mode tune."""
        return self._grids(optimizer)[1].expand()

    @property
    def schedule_names(self) -> tuple[str, ...]:
        """Names of the schedules, in order (they are distinct)."""
        return tuple(s.name for s in self.schedules)

    def schedule_named(self, name: str) -> ScheduleSpec:
        """The schedule a :class:`Cell` names."""
        if schedule := next((s for s in self.schedules if s.name == name), None):
            return schedule
        raise KeyError(f"no schedule {name!r} in this spec (schedules: {self.schedule_names})")

    @property
    def n_cells(self) -> int:
        """Number of grid cells; 0 in mode tune (trials come from the sampler)."""
        return len(self.schedules) * len(self.seeds) * sum(
            len(self.lr_values(o)) * len(self.weight_decay_values(o)) for o in self.optimizers)

    def cells(self) -> list[Cell]:
        """Every grid cell, without duplicates; [] in mode tune.

        Order: seed, then schedule, then optimizer, then lr, then weight decay (outermost
        first), so the first seed's whole landscape comes before any repeat and a population
        of consecutive cells shares its seed and therefore its data order.
        """
        return [Cell(optimizer=opt, lr=lr, weight_decay=wd, seed=seed, schedule=schedule.name,
                     convention=self.convention)
                for seed in self.seeds for schedule in self.schedules for opt in self.optimizers
                for lr in self.lr_values(opt) for wd in self.weight_decay_values(opt)]

    def renamed(self, name: str) -> StudySpec:
        """The same spec under another ``name`` (validated: a transfer family's members are
        named after it)."""
        return self if name == self.name else StudySpec.parse({**self.to_dict(), "name": name})

    # --- export ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-ready form: every field with its resolved default, None left out;
        ``spec_from_dict(spec.to_dict()) == spec`` holds for every valid spec."""
        return plain(self)

    def to_yaml(self) -> str:
        """:meth:`to_dict` as YAML (what a preset file looks like, defaults spelled out)."""
        return yaml_text(self.to_dict())


def yaml_text(data: Mapping[str, Any]) -> str:
    """A spec mapping as YAML, keys in spec order, as preset files are written."""
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True)
