"""The Grad-TTS prior mean for synthesis: encoder means expanded by predicted durations."""

from __future__ import annotations

import torch

from .align_prior import BLANK_ID


def durations_path(durations: torch.Tensor, n_frames: int) -> torch.Tensor:
    """Return the 0/1 path [T_x, n_frames] giving token i frames [cum_{i-1}, cum_i)."""
    cum = torch.cumsum(durations.long(), 0)
    start = cum - durations.long()
    j = torch.arange(n_frames, device=durations.device)
    return ((j[None] >= start[:, None]) & (j[None] < cum[:, None])).to(torch.float32)


@torch.no_grad()
def predicted_mu(model, ids: list[int], spk: torch.Tensor | None, device, dtype,
                 length_scale: float = 1.0) -> torch.Tensor:
    """Return mu [n_feats, T] from the duration predictor (ceil(exp(logw)) frames per token)."""
    ids = list(ids) or [BLANK_ID]
    x = torch.tensor([ids], dtype=torch.long, device=device)
    x_len = torch.tensor([len(ids)], dtype=torch.long, device=device)
    spk_emb = None if spk is None else model.embed_speaker(spk)
    mu_x, logw, x_mask = model.encoder(x, x_len, spk_emb)
    w = torch.ceil(torch.exp(logw) * x_mask)[0, 0] * length_scale
    dur = torch.ceil(w).clamp_min(0)
    n = max(int(dur.sum()), 1)
    path = durations_path(dur, n).to(dtype)
    return torch.matmul(mu_x[0], path)
