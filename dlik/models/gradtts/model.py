"""Grad-TTS: text encoder + diffusion decoder, with the official training losses."""

from __future__ import annotations

import math
import random

import torch
from torch import nn

from .config import GradTTSConfig
from .estimator import GradLogPEstimator2d
from .text_encoder import TextEncoder, sequence_mask


class Diffusion(nn.Module):
    """The decoder: holds the score estimator and the SDE's diffusion loss."""

    def __init__(self, cfg: GradTTSConfig) -> None:
        super().__init__()
        self.n_feats, self.beta_min, self.beta_max = cfg.n_feats, cfg.beta_min, cfg.beta_max
        self.estimator = GradLogPEstimator2d(cfg.dec_dim, n_spks=cfg.n_spks,
                                             spk_emb_dim=cfg.spk_emb_dim, n_feats=cfg.n_feats,
                                             pe_scale=cfg.pe_scale)

    def cum_beta(self, t: torch.Tensor) -> torch.Tensor:
        """Return B(t) = beta_min t + (beta_max - beta_min) t^2 / 2."""
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t

    def loss_t(self, x0, mask, mu, t, spk=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (denoising score-matching loss at times t, x_t)."""
        cum = self.cum_beta(t)[:, None, None]
        mean = x0 * torch.exp(-0.5 * cum) + mu * (1.0 - torch.exp(-0.5 * cum))
        z = torch.randn(x0.shape, dtype=x0.dtype, device=x0.device)
        xt = (mean + z * torch.sqrt(1.0 - torch.exp(-cum))) * mask
        z = z * mask
        est = self.estimator(xt, mask, mu, t, spk) * torch.sqrt(1.0 - torch.exp(-cum))
        return torch.sum((est + z) ** 2) / (torch.sum(mask) * self.n_feats), xt

    def compute_loss(self, x0, mask, mu, spk=None, offset: float = 1e-5):
        """Return the loss at t ~ U(offset, 1 - offset) per row."""
        t = torch.rand(x0.shape[0], dtype=x0.dtype, device=x0.device)
        return self.loss_t(x0, mask, mu, torch.clamp(t, offset, 1.0 - offset), spk)


class GradTTS(nn.Module):
    """Grad-TTS with official submodule names: encoder, decoder.estimator, spk_emb."""

    def __init__(self, cfg: GradTTSConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or GradTTSConfig()
        if self.cfg.n_spks > 1:
            self.spk_emb = nn.Embedding(self.cfg.n_spks, self.cfg.spk_emb_dim)
        # as in the official model, the encoder is built single-speaker: speakers reach
        # the decoder only (through spk_mlp)
        self.encoder = TextEncoder(self.cfg, n_spks=1)
        self.decoder = Diffusion(self.cfg)

    def embed_speaker(self, spk_ids: torch.Tensor | None) -> torch.Tensor | None:
        """Return speaker embeddings [B, spk_emb_dim] (None for single-speaker models)."""
        if self.cfg.n_spks <= 1 or spk_ids is None:
            return None
        return self.spk_emb(spk_ids.long().view(-1))

    def compute_loss(self, x, x_lengths, y, y_lengths, spk=None, out_size=None):
        """Return (duration loss, prior loss, diffusion loss) as in official training."""
        from .align_prior import mas_log_prior
        from .alignment import maximum_path

        spk = self.embed_speaker(spk)
        mu_x, logw, x_mask = self.encoder(x, x_lengths, spk)
        y_mask = sequence_mask(y_lengths, y.shape[-1]).unsqueeze(1).to(x_mask)
        attn_mask = x_mask.unsqueeze(-1) * y_mask.unsqueeze(2)
        with torch.no_grad():
            attn = maximum_path(mas_log_prior(mu_x, y), attn_mask.squeeze(1)).detach()
        logw_ = torch.log(1e-8 + attn.sum(-1)).unsqueeze(1) * x_mask
        dur_loss = torch.sum((logw - logw_) ** 2) / torch.sum(x_lengths)
        if out_size is not None:
            y, attn, y_lengths = self._cut(y, attn, y_lengths, out_size)
            y_mask = sequence_mask(y_lengths, y.shape[-1]).unsqueeze(1).to(x_mask)
        mu_y = torch.matmul(attn.transpose(1, 2), mu_x.transpose(1, 2)).transpose(1, 2)
        diff_loss, _ = self.decoder.compute_loss(y, y_mask, mu_y, spk)
        prior = torch.sum(0.5 * ((y - mu_y) ** 2 + math.log(2 * math.pi)) * y_mask)
        prior_loss = prior / (torch.sum(y_mask) * self.cfg.n_feats)
        return dur_loss, prior_loss, diff_loss

    @staticmethod
    def _cut(y, attn, y_lengths, out_size: int):
        """Return random out_size-frame segments of y and attn, and their lengths."""
        b = y.shape[0]
        y_cut = torch.zeros(b, y.shape[1], out_size, dtype=y.dtype, device=y.device)
        a_cut = torch.zeros(b, attn.shape[1], out_size, dtype=attn.dtype, device=attn.device)
        lengths = []
        for i in range(b):
            n = int(y_lengths[i])
            off = random.choice(range(0, n - out_size)) if n > out_size else 0
            length = min(out_size, n)
            y_cut[i, :, :length] = y[i, :, off:off + length]
            a_cut[i, :, :length] = attn[i, :, off:off + length]
            lengths.append(length)
        return y_cut, a_cut, torch.tensor(lengths, dtype=y_lengths.dtype, device=y.device)
