"""Monotonic alignment search (Glow-TTS / Grad-TTS), vectorised over batch and text.

Same arithmetic as the official Cython (float32 accumulation, -1e9 for impossible moves,
ties resolved the same way), so the paths are identical.
"""

from __future__ import annotations

import numpy as np
import torch

NEG = np.float32(-1e9)


def maximum_path(value: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Return the most likely monotonic 0/1 path [B, T_x, T_y] for log-likelihoods value."""
    if value.dim() != 3 or value.shape != mask.shape:
        raise ValueError(f"value and mask must both be [B, T_x, T_y], got "
                         f"{tuple(value.shape)} and {tuple(mask.shape)}")
    v = (value * mask).detach().cpu().numpy().astype(np.float32)
    m = mask.detach().cpu().numpy()
    t_x = m.sum(1)[:, 0].astype(np.int64)
    t_y = m.sum(2)[:, 0].astype(np.int64)
    b, nx, ny = v.shape
    x = np.arange(nx)[None, :]
    acc = v.copy()
    for y in range(int(t_y.max(initial=0))):
        if y == 0:
            prev_row = np.full((b, nx), NEG, np.float32)
            shifted = np.full((b, nx), NEG, np.float32)
            shifted[:, 0] = 0.0
        else:
            prev_row = acc[:, :, y - 1]
            shifted = np.concatenate([np.full((b, 1), NEG, np.float32), prev_row[:, :-1]], 1)
        cur = np.where(x == y, NEG, prev_row)
        new = np.maximum(cur, shifted) + v[:, :, y]
        valid = ((x >= (t_x + y - t_y)[:, None]) & (x < np.minimum(t_x, y + 1)[:, None])
                 & (y < t_y)[:, None])
        acc[:, :, y] = np.where(valid, new, v[:, :, y])
    path = np.zeros((b, nx, ny), np.float32)
    index = t_x - 1
    rows = np.arange(b)
    for y in range(int(t_y.max(initial=0)) - 1, -1, -1):
        active = (y < t_y) & (index >= 0)
        path[rows[active], index[active], y] = 1
        if y == 0:
            break
        here = acc[rows, np.clip(index, 0, nx - 1), y - 1]
        left = acc[rows, np.clip(index - 1, 0, nx - 1), y - 1]
        step = active & (index != 0) & ((index == y) | (here < left))
        index = index - step
    return torch.from_numpy(path).to(device=value.device, dtype=value.dtype)
