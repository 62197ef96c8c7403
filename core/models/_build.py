"""``build_model``: a seeded, reproducible model from a :class:`ModelSpec`."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from core.catalog import ModelSpec
from core.models._resnet import CifarResNet
from core.models._small import cnn, cnn1d, mlp


def _initialize(model: nn.Module) -> None:
    """He initialization for every layer followed by a ReLU; PyTorch's default for the head.

    Conv weights use fan-out He normal, as He et al. 2016 and torchvision's ResNets do; hidden
    Linear weights fan-in He normal so the MLP's activations keep their scale with depth.
    Biases and BatchNorm shifts start at zero, BatchNorm scales at one.
    """
    head = model.classifier
    for module in model.modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.Linear) and module is not head:
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.ones_(module.weight)
        else:
            continue
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)


def normalized_weights(model: nn.Module) -> frozenset[str]:
    """Weights of the layers whose output goes straight into a BatchNorm (scale-invariant in
    train mode), read from the leaf modules' order: the forward order in every model here."""
    leaves = [(n, m) for n, m in model.named_modules() if not any(m.children())]
    return frozenset(f"{name}.weight" for (name, m), (_, after) in itertools.pairwise(leaves)
                     if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)
                     and isinstance(after, nn.BatchNorm1d | nn.BatchNorm2d))


def _check_shape(spec: ModelSpec, input_shape: object) -> tuple[int, ...]:
    if not isinstance(input_shape, tuple | list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape
    ):
        raise ValueError(f"input_shape must be a tuple of positive integers, got {input_shape!r}")
    shape = tuple(input_shape)
    if spec.name == "cnn1d" and len(shape) != 2:
        raise ValueError(f"input_shape for model 'cnn1d' must be (channels, length), got {shape}")
    if spec.name in ("cnn", "resnet") and len(shape) != 3:
        raise ValueError(
            f"input_shape for model {spec.name!r} must be (channels, height, width), got {shape}"
        )
    if not shape:
        raise ValueError("input_shape must not be empty")
    return shape


def build_model(
    spec: ModelSpec, *, input_shape: tuple[int, ...], num_classes: int, seed: int
) -> nn.Module:
    """A freshly initialized classifier for inputs of ``input_shape`` (per sample, no batch):
    (channels, height, width) for the CNN and the ResNet, (channels, length) for the 1-D CNN,
    any shape for the MLP (it flattens).

    Same seed, same weights, bit for bit; different seeds give different weights. The global
    RNG is left exactly as it was: the model is built under ``torch.random.fork_rng`` with
    only the CPU generator reseeded, so building a population of models never perturbs the
    data order or any other random stream of the caller. The model is returned on the CPU, in
    train mode, in float32.

    Every architecture is written to work under ``torch.func`` population training
    (``stack_module_state`` + ``vmap(functional_call)``), BatchNorm included: no in-place ops
    on activations, no data-dependent Python control flow, no ``.item()``.
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a ModelSpec, got {type(spec).__name__}")
    shape = _check_shape(spec, input_shape)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")

    # devices=[]: models are built on the CPU, and forking CUDA state would initialize CUDA.
    with torch.random.fork_rng(devices=[]):
        # Only the CPU generator: torch.manual_seed would also reseed CUDA generators, which
        # fork_rng(devices=[]) does not restore.
        torch.default_generator.manual_seed(seed)
        model: nn.Module
        if spec.name == "resnet":
            model = CifarResNet(shape, spec.blocks_per_stage, spec.width, num_classes, spec.norm)
        elif spec.name == "mlp":
            model = mlp(shape, spec.widths, num_classes, spec.norm)
        else:
            build = cnn if spec.name == "cnn" else cnn1d
            model = build(shape, spec.channels, num_classes, spec.norm)
        _initialize(model)
    return model

