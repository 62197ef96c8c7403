"""K stacked MLPs evaluated as a few large tensor products, without ``vmap``.

``vmap(functional_call)`` runs any model over stacked parameters, but on an MLP it pays for
generality: each Linear becomes a batched product with inputs laid out (K, B, F), BatchNorm
needs a transpose to one wide BatchNorm plus a separate scale and shift, and the loss's
softmax runs over a last axis of ten classes. Here activations are kept *feature-major*,
(K, F, B): member k's hidden layer is W_k · H_k, with W_k in PyTorch's (out, in) layout, so

* the first layer of members that share an input batch X is one GEMM, [W_1; …; W_K] · Xᵀ
  (K·F rows), instead of K small products (the stacked weights are strided views into the
  population's flat buffer, so the GEMM reads a copy of them, made each step);
* every later Linear is one ``bmm`` over the members' own (out, in) weights, no transposes;
* BatchNorm over the K·F channels of the (1, K·F, B) view is one ``F.batch_norm`` call with
  the stacked scale, shift and running statistics: per member and feature, over the batch,
  exactly what each member's ``BatchNorm1d`` computes (running variance unbiased, momentum
  and ε from the module);
* the logits come out (K, C, B), the (N, C, d) layout ``F.cross_entropy`` reduces over
  class axis 1 directly.

Member k's logits, gradients and running statistics equal those of ``vmap(functional_call)``
over the same stacked parameters, that is of the member model's own forward pass (float64, to
1e-12, in tests/test_stacked.py, which also trains sliced populations against single runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class StackedForward(Protocol):
    def __call__(self, params: Mapping[str, Tensor], buffers: Mapping[str, Tensor], x: Tensor,
                 *, training: bool, shared: bool) -> Tensor:
        """Logits (K, C, B) from stacked parameters and buffers (leading axis K). ``x`` is one
        batch (B, …) that every member reads when ``shared``, else (K, B, …), one per member;
        ``training`` uses the batch's statistics in BatchNorm and updates the running ones."""
        ...


def stacked_forward(model: nn.Module) -> StackedForward | None:
    """The feature-major forward pass of K stacked copies of ``model``, or None when the model
    is not a plain MLP (``Flatten``, then ``Linear`` / ``BatchNorm1d`` / ``ReLU`` layers and a
    linear ``classifier``): the caller then falls back to ``vmap``."""
    features = getattr(model, "features", None)
    head = getattr(model, "classifier", None)
    if not isinstance(features, nn.Sequential) or not isinstance(head, nn.Linear):
        return None
    layers = [(f"features.{name}", module) for name, module in features.named_children()]
    if not layers or not isinstance(layers[0][1], nn.Flatten) or layers[0][1].start_dim != 1:
        return None
    layers = [*layers[1:], ("classifier", head)]
    for _, module in layers:
        plain_norm = (isinstance(module, nn.BatchNorm1d) and module.affine
                      and module.track_running_stats and module.momentum is not None)
        if not (isinstance(module, nn.Linear | nn.ReLU) or plain_norm):
            return None
    if not isinstance(layers[0][1], nn.Linear):
        return None

    def forward(params: Mapping[str, Tensor], buffers: Mapping[str, Tensor], x: Tensor, *,
                training: bool, shared: bool) -> Tensor:
        h: Tensor | None = None  # (K, F, B) after the first layer
        for name, module in layers:
            if isinstance(module, nn.Linear):
                h = _linear(params[f"{name}.weight"], params.get(f"{name}.bias"), h, x, shared)
            elif isinstance(module, nn.ReLU):
                h = F.relu(h)
            else:
                h = _batch_norm(module, name, params, buffers, h, training)
        assert h is not None
        return h

    return forward


def _linear(weight: Tensor, bias: Tensor | None, h: Tensor | None, x: Tensor,
            shared: bool) -> Tensor:
    """W_k · H_k (+ b_k) for every member; the first layer reads the input batch instead."""
    k, out, fan_in = weight.shape
    if h is None and shared:
        # One GEMM for all members: [W_1; …; W_K] (K·out, in) · Xᵀ (in, B).
        flat = x.reshape(x.shape[0], fan_in)
        product = weight.reshape(k * out, fan_in) @ flat.T
        h = product.view(k, out, flat.shape[0])
        return h if bias is None else h + bias.unsqueeze(2)
    if h is None:  # one batch per member: (K, B, in) → (K, in, B)
        h = x.reshape(k, x.shape[1], fan_in).transpose(1, 2)
    if bias is None:
        return torch.bmm(weight, h)
    return torch.baddbmm(bias.unsqueeze(2), weight, h)


def _batch_norm(module: nn.BatchNorm1d, name: str, params: Mapping[str, Tensor],
                buffers: Mapping[str, Tensor], h: Tensor, training: bool) -> Tensor:
    """Per member and feature, over the batch: one BatchNorm over K·F channels."""
    k, features, rows = h.shape
    flat = lambda t: t.reshape(k * features)  # noqa: E731 (a view when t is contiguous)
    running_mean, running_var = buffers[f"{name}.running_mean"], buffers[f"{name}.running_var"]
    if training and not (running_mean.is_contiguous() and running_var.is_contiguous()):
        raise ValueError(f"{name}: running statistics must be contiguous to update in place")
    out = F.batch_norm(h.reshape(1, k * features, rows), flat(running_mean), flat(running_var),
                       flat(params[f"{name}.weight"]), flat(params[f"{name}.bias"]),
                       training, module.momentum, module.eps)
    if training:
        buffers[f"{name}.num_batches_tracked"].add_(1)  # as BatchNorm1d.forward does
    return out.view(k, features, rows)
