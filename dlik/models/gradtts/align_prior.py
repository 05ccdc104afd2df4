"""The Grad-TTS prior mean mu for a real mel: encoder output expanded by MAS alignment."""

from __future__ import annotations

import math

import torch

BLANK_ID = 148  # the intersperse blank, = len(symbols)


def mas_log_prior(mu_x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return log N(y_j; mu_x_i, I) for every text position i and frame j: [B, T_x, T_y]."""
    n_feats = mu_x.shape[1]
    const = -0.5 * math.log(2 * math.pi) * n_feats
    y_sq = -0.5 * (y * y).sum(1).unsqueeze(1)                 # [B, 1, T_y]
    cross = torch.matmul(mu_x.transpose(1, 2), y)              # [B, T_x, T_y]
    mu_sq = -0.5 * (mu_x * mu_x).sum(1).unsqueeze(-1)         # [B, T_x, 1]
    return y_sq + cross + mu_sq + const


@torch.no_grad()
def aligned_mu(model, ids: list[int], mel: torch.Tensor, spk: torch.Tensor | None,
               device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Return mu [n_feats, T] for mel [n_feats, T]: encoder means repeated along the MAS path."""
    from .alignment import maximum_path

    ids = list(ids) or [BLANK_ID]
    n_frames = mel.shape[1]
    if len(ids) > n_frames:
        raise ValueError(f"text has {len(ids)} tokens but the audio only {n_frames} frames: "
                         "monotonic alignment needs at least one frame per token")
    x = torch.tensor([ids], dtype=torch.long, device=device)
    x_len = torch.tensor([len(ids)], dtype=torch.long, device=device)
    spk_emb = None if spk is None else model.embed_speaker(spk)
    mu_x, _logw, x_mask = model.encoder(x, x_len, spk_emb)      # [1, F, T_x], [1, 1, T_x]
    y = mel[None].to(device, dtype)
    log_prior = mas_log_prior(mu_x, y)
    attn_mask = x_mask.transpose(1, 2).expand(-1, -1, n_frames)  # [1, T_x, T_y]
    path = maximum_path(log_prior, attn_mask)                    # [1, T_x, T_y]
    return torch.matmul(mu_x, path)[0]                           # [F, T_y]
