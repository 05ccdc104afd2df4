"""Grad-TTS hyper-parameters (defaults: the official LJSpeech model)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class GradTTSConfig:
    """Architecture and SDE settings; n_spks > 1 adds a speaker embedding (decoder only)."""

    n_vocab: int = 149
    n_spks: int = 1
    spk_emb_dim: int = 64
    n_enc_channels: int = 192
    filter_channels: int = 768
    filter_channels_dp: int = 256
    n_heads: int = 2
    n_enc_layers: int = 6
    enc_kernel: int = 3
    enc_dropout: float = 0.1
    window_size: int = 4
    n_feats: int = 80
    dec_dim: int = 64
    beta_min: float = 0.05
    beta_max: float = 20.0
    pe_scale: float = 1000.0

    def __post_init__(self) -> None:
        for f in ("n_vocab", "n_spks", "spk_emb_dim", "n_enc_channels", "filter_channels",
                  "filter_channels_dp", "n_heads", "n_enc_layers", "enc_kernel", "n_feats",
                  "dec_dim"):
            if int(getattr(self, f)) < 1:
                raise ValueError(f"{f} must be >= 1, got {getattr(self, f)}")
        if self.n_enc_channels % self.n_heads:
            raise ValueError(f"n_enc_channels ({self.n_enc_channels}) must be divisible by "
                             f"n_heads ({self.n_heads})")
        if self.dec_dim % 8:
            raise ValueError(f"dec_dim must be a multiple of 8 (GroupNorm groups), got "
                             f"{self.dec_dim}")
        if not 0 <= self.beta_min < self.beta_max:
            raise ValueError(f"need 0 <= beta_min < beta_max, got {self.beta_min}, "
                             f"{self.beta_max}")

    def to_dict(self) -> dict:
        """Return the config as a plain dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GradTTSConfig:
        """Return a config from a dict, naming unknown keys."""
        names = {f.name for f in fields(cls)}
        bad = sorted(set(d) - names)
        if bad:
            raise ValueError(f"unknown Grad-TTS hyper-parameters {bad}; known: {sorted(names)}")
        return cls(**d)
