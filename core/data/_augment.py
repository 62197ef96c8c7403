"""The paper's CIFAR-10 training augmentation, applied to a whole batch in one shot."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

PAD = 4  # pixels of zero padding on each side before the random crop (He et al. 2016)


def augment_cifar_batch(x: Tensor, *, generator: torch.Generator) -> Tensor:
    """Random 4-pixel-padded crop and random horizontal flip of every image in ``x``.

    For each image independently: pad with ``PAD`` zeros on every side, crop a window of the
    original size at an offset drawn uniformly from the (2·PAD+1)² positions, and mirror it
    left-right with probability 1/2 (the paper's shake-shake / fb.resnet.torch lineage). Those
    pipelines normalize *before* padding, so the zeros here are zeros of the standardized input
    (the training mean), as there.

    Vectorized: one pad and one gather for the whole batch on ``x``'s device, no per-image
    Python loop, so it costs next to nothing beside a training step on a GPU. Draws come from
    ``generator`` only (row offsets, then column offsets, then flips, each of length N), so the
    result is a deterministic function of ``x`` and the generator's state. The generator may
    live on ``x``'s device or on the CPU; a CPU generator gives the same augmentations
    whatever device ``x`` is on. ``x`` is (N, C, H, W); the result is a new tensor like it.
    """
    if x.dim() != 4:
        raise ValueError(f"x must be a batch shaped (N, C, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    dy, dx, flip = (torch.randint(0, high, (n,), generator=generator, device=generator.device)
                    .to(x.device) for high in (2 * PAD + 1, 2 * PAD + 1, 2))
    padded = F.pad(x, (PAD, PAD, PAD, PAD))
    rows = dy[:, None] + torch.arange(h, device=x.device)  # (N, H) rows of the padded image
    cols = torch.arange(w, device=x.device).expand(n, w)
    # A flip reads the crop's columns right to left; doing it in the index costs nothing extra.
    cols = dx[:, None] + torch.where(flip[:, None].bool(), (w - 1) - cols, cols)  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
