"""How many population members fit in memory at once (a conservative estimate)."""

from __future__ import annotations

import math
import os

import torch

from core.data import DataSplits
from core.models import ModelSpec, build_model

MEMORY_FRACTION = 0.5  # of the free memory a population may plan to use
MAX_MEMBERS = 4096  # beyond this a chunk gains nothing and the estimate gets shaky


def free_memory_bytes(device: torch.device) -> int:
    """Free memory on ``device``: the GPU's free memory, or the host's available RAM."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 4 GiB
        return 4 << 30


def member_bytes(*, model: ModelSpec, data: DataSplits, batch_size: int, dtype: torch.dtype,
                 n_seeds: int, telemetry: bool = True) -> int:
    """Bytes one member needs: weights, gradient, optimizer state, and activations.

    Activations are measured by a forward pass of one sample with hooks on every module,
    counted three times (kept for backward, their gradients, and temporaries).
    """
    net = build_model(model, input_shape=data.input_shape, num_classes=data.num_classes, seed=0)
    n_params = sum(p.numel() for p in net.parameters())
    activations = 0

    def count(_module, _inputs, output):
        nonlocal activations
        if isinstance(output, torch.Tensor):
            activations += output.numel()

    for module in net.modules():  # no need to remove the hooks: the net is thrown away
        module.register_forward_hook(count)
    with torch.no_grad():
        net.eval()(torch.zeros(1, *data.input_shape))
    # six parameter-sized buffers (weights, gradient, state, temporaries); telemetry's a seventh
    per_member = n_params * (6 + telemetry) + activations * batch_size * 3
    if n_seeds > 1:  # each member gets its own input batch
        per_member += batch_size * math.prod(data.input_shape)
    return per_member * dtype.itemsize


def members_per_chunk(*, model: ModelSpec, data: DataSplits, batch_size: int,
                      dtype: torch.dtype, device: torch.device, n_seeds: int = 1,
                      telemetry: bool = True) -> int:
    """The largest number of members to train together on ``device``."""
    need = member_bytes(model=model, data=data, batch_size=batch_size, dtype=dtype,
                        n_seeds=n_seeds, telemetry=telemetry)
    budget = free_memory_bytes(device) * MEMORY_FRACTION
    return int(max(1, min(MAX_MEMBERS, budget // max(1, need))))
