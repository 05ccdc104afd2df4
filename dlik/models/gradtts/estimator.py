"""Grad-TTS score network (GradLogPEstimator2d): a 2-D U-Net over (mel bins, frames) with
linear attention, sinusoidal time embedding and an optional speaker MLP.
Module and parameter names follow the official checkpoints."""

from __future__ import annotations

import math

import torch
from torch import nn


class Mish(nn.Module):
    """x tanh(softplus(x))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.tanh(nn.functional.softplus(x))


class Block(nn.Module):
    """Masked conv 3x3 -> GroupNorm -> Mish."""

    def __init__(self, dim: int, dim_out: int, groups: int = 8) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(dim, dim_out, 3, padding=1),
                                   nn.GroupNorm(groups, dim_out), Mish())

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.block(x * mask) * mask


class ResnetBlock(nn.Module):
    """Two blocks with the time embedding added between, and a residual projection."""

    def __init__(self, dim: int, dim_out: int, time_dim: int, groups: int = 8) -> None:
        super().__init__()
        self.mlp = nn.Sequential(Mish(), nn.Linear(time_dim, dim_out))
        self.block1 = Block(dim, dim_out, groups)
        self.block2 = Block(dim_out, dim_out, groups)
        self.res_conv = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor, t_emb: torch.Tensor) -> torch.Tensor:
        h = self.block1(x, mask) + self.mlp(t_emb)[:, :, None, None]
        return self.block2(h, mask) + self.res_conv(x * mask)


class LinearAttention(nn.Module):
    """Linear attention (softmax over keys' positions), 4 heads of 32."""

    def __init__(self, dim: int, heads: int = 4, dim_head: int = 32) -> None:
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        self.to_qkv = nn.Conv2d(dim, heads * dim_head * 3, 1, bias=False)
        self.to_out = nn.Conv2d(heads * dim_head, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        q, k, v = self.to_qkv(x).reshape(b, 3, self.heads, self.dim_head, h * w).unbind(1)
        context = torch.einsum("bhdn,bhen->bhde", k.softmax(dim=-1), v)
        out = torch.einsum("bhde,bhdn->bhen", context, q)
        return self.to_out(out.reshape(b, self.heads * self.dim_head, h, w))


class Rezero(nn.Module):
    """fn(x) scaled by a learnt scalar initialised at 0."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn
        self.g = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x) * self.g


class Residual(nn.Module):
    """x + fn(x)."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x) + x


class Downsample(nn.Module):
    """Strided 3x3 conv halving both axes."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Transposed 4x4 conv doubling both axes."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(dim, dim, 4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def sinusoidal_embedding(t: torch.Tensor, dim: int, scale: float) -> torch.Tensor:
    """Return [B, dim] sin/cos features of scale * t."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, device=t.device).float() * -(math.log(10000) / (half - 1)))
    arg = scale * t[:, None] * freqs[None]
    return torch.cat([arg.sin(), arg.cos()], dim=-1)


def _attn(dim: int) -> nn.Module:
    return Residual(Rezero(LinearAttention(dim)))


class GradLogPEstimator2d(nn.Module):
    """s_theta(x_t, mu, t[, spk]) -> score shaped like x ([B, n_feats, T], T divisible by 4)."""

    def __init__(self, dim: int, dim_mults=(1, 2, 4), groups: int = 8, n_spks: int = 1,
                 spk_emb_dim: int = 64, n_feats: int = 80, pe_scale: float = 1000) -> None:
        super().__init__()
        self.dim, self.n_spks, self.pe_scale = dim, n_spks, pe_scale
        if n_spks > 1:
            self.spk_mlp = nn.Sequential(nn.Linear(spk_emb_dim, spk_emb_dim * 4), Mish(),
                                         nn.Linear(spk_emb_dim * 4, n_feats))
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 4), Mish(), nn.Linear(dim * 4, dim))
        dims = [2 + (1 if n_spks > 1 else 0), *(dim * m for m in dim_mults)]
        pairs = list(zip(dims[:-1], dims[1:]))
        self.downs = nn.ModuleList(
            nn.ModuleList([ResnetBlock(a, b, dim, groups), ResnetBlock(b, b, dim, groups),
                           _attn(b), Downsample(b) if i < len(pairs) - 1 else nn.Identity()])
            for i, (a, b) in enumerate(pairs))
        self.ups = nn.ModuleList(
            nn.ModuleList([ResnetBlock(b * 2, a, dim, groups), ResnetBlock(a, a, dim, groups),
                           _attn(a), Upsample(a)])
            for a, b in reversed(pairs[1:]))
        mid = dims[-1]
        self.mid_block1 = ResnetBlock(mid, mid, dim, groups)
        self.mid_attn = _attn(mid)
        self.mid_block2 = ResnetBlock(mid, mid, dim, groups)
        self.final_block = Block(dim, dim, groups)
        self.final_conv = nn.Conv2d(dim, 1, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, mu: torch.Tensor, t: torch.Tensor,
                spk: torch.Tensor | None = None) -> torch.Tensor:
        """Return the score; mask [B, 1, T], t [B], spk an embedding [B, spk_emb_dim]."""
        t_emb = self.mlp(sinusoidal_embedding(t, self.dim, self.pe_scale).to(x.dtype))
        chans = [mu, x]
        if self.n_spks > 1:
            if spk is None:
                raise ValueError("multi-speaker estimator needs a speaker embedding")
            chans.append(self.spk_mlp(spk).unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        h = torch.stack(chans, 1)
        masks = [mask.unsqueeze(1)]
        skips = []
        for res1, res2, attn, down in self.downs:
            m = masks[-1]
            h = attn(res2(res1(h, m, t_emb), m, t_emb))
            skips.append(h)
            h = down(h * m)
            masks.append(m[:, :, :, ::2])
        masks.pop()
        m = masks[-1]
        h = self.mid_block2(self.mid_attn(self.mid_block1(h, m, t_emb)), m, t_emb)
        for res1, res2, attn, up in self.ups:
            m = masks.pop()
            h = torch.cat([h, skips.pop()], dim=1)
            h = up(attn(res2(res1(h, m, t_emb), m, t_emb)) * m)
        m0 = mask.unsqueeze(1)
        out = self.final_conv(self.final_block(h, m0) * m0)
        return (out * m0).squeeze(1)
