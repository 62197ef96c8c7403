"""Small classifiers (MLP, CNN, 1-D CNN, CIFAR ResNet) built reproducibly from a
:class:`ModelSpec`, each with or without BatchNorm (``ModelSpec.norm``).

All of them can be trained as a population with ``torch.func`` (stacked parameters and
BatchNorm buffers, ``vmap`` over ``functional_call``), which is how the trainer fits many
learning-rate x weight-decay cells at once. MLPs have a faster stacked forward pass
(:func:`stacked_forward`) that computes the same thing without ``vmap``.
"""

from __future__ import annotations

from core.catalog import MODELS, ModelSpec
from core.models._build import build_model, normalized_weights
from core.models._stacked import StackedForward, stacked_forward

__all__ = ["MODELS", "ModelSpec", "StackedForward", "build_model", "normalized_weights",
           "stacked_forward"]
