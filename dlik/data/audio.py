"""Audio I/O and the Grad-TTS / HiFi-GAN log-mel spectrogram (22.05 kHz, 80 bins, 0-8 kHz)."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "dlik" / "numba"))


@dataclass(frozen=True)
class MelConfig:
    """The paper's mel settings (natural log, clamp 1e-5, no normalisation)."""

    sr: int = 22050
    n_fft: int = 1024
    hop: int = 256
    win: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0


def _wav_shortfall(path: Path) -> tuple[int, int] | None:
    """Return (declared, present) sample bytes of a RIFF/WAVE file cut short, else None."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        while len(chunk := fh.read(8)) == 8:
            size = struct.unpack("<I", chunk[4:])[0]
            if chunk[:4] == b"data":
                present = os.fstat(fh.fileno()).st_size - fh.tell()
                # 0 and 0xFFFFFFFF mean "length unknown" (streamed writers)
                return None if size in (0, 0xFFFFFFFF) or present >= size else (size, present)
            fh.seek(size + (size & 1), 1)
    return None


def audio_seconds(path: str | Path) -> float | None:
    """Return a file's duration in seconds from its header, or None when it cannot be read."""
    import soundfile as sf

    try:
        return float(sf.info(str(path)).duration)
    except (RuntimeError, OSError, TypeError):
        return None


def load_audio(path: str | Path, sr: int = 22050) -> np.ndarray:
    """Return a mono float32 wave at sr (channels averaged; resampled with librosa when the
    file's rate differs); raise naming the file when it is missing, empty, truncated, not
    audio, without samples or not finite."""
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"audio file {path} does not exist")
    if path.stat().st_size == 0:
        raise ValueError(f"audio file {path} is empty (0 bytes)")
    cut = _wav_shortfall(path)
    if cut:
        raise ValueError(f"audio file {path} is truncated: its header declares {cut[0]} bytes "
                         f"of samples, the file holds {cut[1]}")
    try:
        wave, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError, TypeError) as exc:  # LibsndfileError is a RuntimeError
        raise ValueError(f"cannot read audio file {path} ({exc}); expected audio that "
                         "soundfile can decode (WAV, FLAC, OGG, ...)") from None
    if wave.shape[0] == 0:
        raise ValueError(f"audio file {path} has no samples")
    bad = int((~np.isfinite(wave)).sum())
    if bad:
        raise ValueError(f"audio file {path} has {bad} non-finite samples (NaN/inf); "
                         "expected finite audio")
    wave = wave.mean(axis=1)
    if file_sr != sr:
        import librosa

        wave = librosa.resample(wave, orig_sr=file_sr, target_sr=sr)
    return np.ascontiguousarray(wave, dtype=np.float32)


def save_wav(path: str | Path, wave: np.ndarray, sr: int = 22050) -> None:
    """Write a mono PCM16 wav."""
    import soundfile as sf

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(np.asarray(wave, np.float32), -1, 1), sr, subtype="PCM_16")


@lru_cache(maxsize=8)
def _basis(cfg: MelConfig) -> tuple[torch.Tensor, torch.Tensor]:
    import librosa

    mel = librosa.filters.mel(sr=cfg.sr, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin,
                              fmax=cfg.fmax)
    return torch.from_numpy(mel).float(), torch.hann_window(cfg.win)


def mel_spectrogram(wave: torch.Tensor | np.ndarray, cfg: MelConfig = MelConfig()) -> torch.Tensor:
    """Return log-mel [n_mels, frames] (or [B, n_mels, frames] for a [B, T] batch)."""
    y = torch.as_tensor(np.asarray(wave, np.float32) if isinstance(wave, np.ndarray) else wave)
    y = y.float()
    single = y.dim() == 1
    if single:
        y = y[None]
    if y.dim() != 2:
        raise ValueError(f"wave must be [T] or [B, T], got shape {tuple(y.shape)}")
    basis, window = _basis(cfg)
    pad = (cfg.n_fft - cfg.hop) // 2
    if y.shape[1] <= pad:
        raise ValueError(f"wave of {y.shape[1]} samples is too short for a mel frame")
    y = torch.nn.functional.pad(y[:, None], (pad, pad), mode="reflect")[:, 0]
    spec = torch.stft(y, cfg.n_fft, hop_length=cfg.hop, win_length=cfg.win,
                      window=window.to(y.device), center=False, normalized=False,
                      onesided=True, return_complex=True)
    mag = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)
    mel = torch.log(torch.clamp(torch.matmul(basis.to(y.device), mag), min=1e-5))
    return mel[0] if single else mel
