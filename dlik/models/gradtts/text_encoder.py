"""Grad-TTS text encoder: embedding, conv prenet, relative-position transformer, duration
predictor. Module and parameter names follow the official checkpoints."""

from __future__ import annotations

import math

import torch
from torch import nn


def sequence_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """Return a [B, max_len] bool mask, True for positions < length."""
    max_len = int(lengths.max()) if max_len is None else int(max_len)
    return torch.arange(max_len, device=lengths.device)[None] < lengths[:, None]


class LayerNorm(nn.Module):
    """Layer norm over the channel axis (dim 1), eps 1e-4."""

    def __init__(self, channels: int, eps: float = 1e-4) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.gamma.view(shape) \
            + self.beta.view(shape)


class ConvReluNorm(nn.Module):
    """Residual stack of conv -> layer norm -> ReLU -> dropout, zero-initialised projection."""

    def __init__(self, channels: int, kernel: int = 5, n_layers: int = 3, p: float = 0.5):
        super().__init__()
        self.conv_layers = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, padding=kernel // 2) for _ in range(n_layers))
        self.norm_layers = nn.ModuleList(LayerNorm(channels) for _ in range(n_layers))
        self.relu_drop = nn.Sequential(nn.ReLU(), nn.Dropout(p))
        self.proj = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = x
        for conv, norm in zip(self.conv_layers, self.norm_layers):
            h = self.relu_drop(norm(conv(h * mask)))
        return (x + self.proj(h)) * mask


class DurationPredictor(nn.Module):
    """Two conv/ReLU/norm/dropout layers and a projection to log-durations."""

    def __init__(self, channels: int, filters: int, kernel: int, p: float) -> None:
        super().__init__()
        self.drop = nn.Dropout(p)
        self.conv_1 = nn.Conv1d(channels, filters, kernel, padding=kernel // 2)
        self.norm_1 = LayerNorm(filters)
        self.conv_2 = nn.Conv1d(filters, filters, kernel, padding=kernel // 2)
        self.norm_2 = LayerNorm(filters)
        self.proj = nn.Conv1d(filters, 1, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.norm_1(torch.relu(self.conv_1(x * mask))))
        x = self.drop(self.norm_2(torch.relu(self.conv_2(x * mask))))
        return self.proj(x * mask) * mask


class MultiHeadAttention(nn.Module):
    """Self-attention with relative-position keys and values (window w, heads share them)."""

    def __init__(self, channels: int, n_heads: int, window: int, p: float) -> None:
        super().__init__()
        self.n_heads, self.window = n_heads, window
        self.k = channels // n_heads
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        std = self.k ** -0.5
        self.emb_rel_k = nn.Parameter(torch.randn(1, 2 * window + 1, self.k) * std)
        self.emb_rel_v = nn.Parameter(torch.randn(1, 2 * window + 1, self.k) * std)
        self.conv_o = nn.Conv1d(channels, channels, 1)
        self.drop = nn.Dropout(p)
        for conv in (self.conv_q, self.conv_k, self.conv_v):
            nn.init.xavier_uniform_(conv.weight)

    def _rel(self, n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (index into the 2w+1 embeddings, in-window mask) for every (i, j)."""
        d = torch.arange(n, device=device)[None] - torch.arange(n, device=device)[:, None]
        return (d + self.window).clamp(0, 2 * self.window), d.abs() <= self.window

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, c, n = x.shape
        h, k = self.n_heads, self.k
        q = self.conv_q(x).view(b, h, k, n).transpose(2, 3)
        key = self.conv_k(x).view(b, h, k, n).transpose(2, 3)
        v = self.conv_v(x).view(b, h, k, n).transpose(2, 3)
        idx, inside = self._rel(n, x.device)
        rel_k = torch.matmul(q, self.emb_rel_k[0].transpose(0, 1))  # [b, h, n, 2w+1]
        rel = torch.gather(rel_k, 3, idx.expand(b, h, n, n)) * inside
        scores = (torch.matmul(q, key.transpose(2, 3)) + rel) / math.sqrt(k)
        scores = scores.masked_fill(mask == 0, -1e4)
        p = self.drop(torch.softmax(scores, dim=-1))
        out = torch.matmul(p, v)
        w_rel = torch.zeros(b, h, n, 2 * self.window + 1, dtype=p.dtype, device=p.device)
        w_rel.scatter_add_(3, idx.expand(b, h, n, n), p * inside)
        out = out + torch.matmul(w_rel, self.emb_rel_v[0])
        return self.conv_o(out.transpose(2, 3).reshape(b, c, n))


class FFN(nn.Module):
    """Two masked convolutions with ReLU between."""

    def __init__(self, channels: int, filters: int, kernel: int, p: float) -> None:
        super().__init__()
        self.conv_1 = nn.Conv1d(channels, filters, kernel, padding=kernel // 2)
        self.conv_2 = nn.Conv1d(filters, channels, kernel, padding=kernel // 2)
        self.drop = nn.Dropout(p)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.conv_2(self.drop(torch.relu(self.conv_1(x * mask))) * mask) * mask


class Encoder(nn.Module):
    """Post-norm transformer of n layers."""

    def __init__(self, channels, filters, n_heads, n_layers, kernel, p, window) -> None:
        super().__init__()
        self.drop = nn.Dropout(p)
        self.attn_layers = nn.ModuleList(
            MultiHeadAttention(channels, n_heads, window, p) for _ in range(n_layers))
        self.norm_layers_1 = nn.ModuleList(LayerNorm(channels) for _ in range(n_layers))
        self.ffn_layers = nn.ModuleList(
            FFN(channels, filters, kernel, p) for _ in range(n_layers))
        self.norm_layers_2 = nn.ModuleList(LayerNorm(channels) for _ in range(n_layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        attn_mask = mask.unsqueeze(2) * mask.unsqueeze(-1)
        for attn, n1, ffn, n2 in zip(self.attn_layers, self.norm_layers_1, self.ffn_layers,
                                     self.norm_layers_2):
            x = x * mask
            x = n1(x + self.drop(attn(x, attn_mask)))
            x = n2(x + self.drop(ffn(x, mask)))
        return x * mask


class TextEncoder(nn.Module):
    """ids -> (mu_x [B, n_feats, T], log-durations [B, 1, T], mask [B, 1, T])."""

    def __init__(self, cfg, n_spks: int = 1) -> None:
        super().__init__()
        c = cfg.n_enc_channels
        self.n_channels, self.n_spks = c, n_spks
        self.emb = nn.Embedding(cfg.n_vocab, c)
        nn.init.normal_(self.emb.weight, 0.0, c ** -0.5)
        self.prenet = ConvReluNorm(c, kernel=5, n_layers=3, p=0.5)
        width = c + (cfg.spk_emb_dim if n_spks > 1 else 0)
        self.encoder = Encoder(width, cfg.filter_channels, cfg.n_heads, cfg.n_enc_layers,
                               cfg.enc_kernel, cfg.enc_dropout, cfg.window_size)
        self.proj_m = nn.Conv1d(width, cfg.n_feats, 1)
        self.proj_w = DurationPredictor(width, cfg.filter_channels_dp, cfg.enc_kernel,
                                        cfg.enc_dropout)

    def forward(self, x: torch.Tensor, x_lengths: torch.Tensor, spk: torch.Tensor | None = None):
        """Return (mu_x, logw, x_mask)."""
        return self.forward_embedded(self.emb(x), x_lengths, spk)

    def forward_embedded(self, e: torch.Tensor, x_lengths: torch.Tensor,
                         spk: torch.Tensor | None = None):
        """Return (mu_x, logw, x_mask) of embedding rows e [B, T, C] (the table's units): the
        encoder after its lookup, for conditions between the table's rows."""
        h = (e * math.sqrt(self.n_channels)).transpose(1, 2)
        mask = sequence_mask(x_lengths, h.shape[2]).unsqueeze(1).to(h.dtype)
        h = self.prenet(h, mask)
        if self.n_spks > 1:
            h = torch.cat([h, spk.unsqueeze(-1).expand(-1, -1, h.shape[-1])], dim=1)
        h = self.encoder(h, mask)
        mu = self.proj_m(h) * mask
        logw = self.proj_w(h.detach(), mask)
        return mu, logw, mask
