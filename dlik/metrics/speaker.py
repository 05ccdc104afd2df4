"""Speaker similarity (ASV cosine) behind a small interface; resemblyzer's shipped GE2E
encoder is the default. Any object with embed(wave, sr) can be passed instead (e.g. an
ECAPA model a user loads from a local path), or added to ENCODERS."""

from __future__ import annotations

import warnings
from typing import Protocol

import numpy as np


class SpeakerEncoder(Protocol):
    """Maps a wave to a speaker embedding."""

    def embed(self, wave: np.ndarray, sr: int) -> np.ndarray:
        """Return a 1-D embedding."""
        ...


class ResemblyzerEncoder:
    """resemblyzer's pretrained GE2E encoder (256-d, unit norm, 16 kHz; weights ship with the
    package, nothing is downloaded)."""

    def __init__(self, device: str = "cpu") -> None:
        try:
            with warnings.catch_warnings():  # its webrtcvad dependency imports pkg_resources
                warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
                from resemblyzer import VoiceEncoder
        except ImportError as exc:
            raise ImportError("ResemblyzerEncoder needs `pip install resemblyzer 'setuptools<81'`"
                              ) from exc
        self._enc = VoiceEncoder(device=device, verbose=False)

    def embed(self, wave: np.ndarray, sr: int) -> np.ndarray:
        """Return the utterance embedding of wave after resemblyzer's preprocessing (resample
        to 16 kHz, volume normalisation, long-silence trimming)."""
        from resemblyzer import preprocess_wav

        x = np.asarray(wave, np.float32)
        if x.ndim != 1:
            raise ValueError(f"wave must be 1-D mono, got shape {x.shape}")
        x = preprocess_wav(x, source_sr=sr)
        if len(x) == 0:
            raise ValueError("wave has no speech left after resemblyzer's silence trimming")
        return np.asarray(self._enc.embed_utterance(x), np.float64)


ENCODERS = {"resemblyzer": ResemblyzerEncoder}


def make_speaker_encoder(name: str = "resemblyzer", **kwargs) -> SpeakerEncoder:
    """Return a speaker encoder by registry name."""
    if name not in ENCODERS:
        raise ValueError(f"speaker encoder must be one of {list(ENCODERS)}, got {name!r}")
    return ENCODERS[name](**kwargs)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Return the cosine similarity of two 1-D vectors (in [-1, 1])."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    if denom == 0:
        raise ValueError("cosine of a zero-norm embedding is undefined")
    return float(np.clip(np.dot(a, b) / denom, -1.0, 1.0))


def speaker_similarity(wave_a: np.ndarray, wave_b: np.ndarray, sr: int,
                       encoder: SpeakerEncoder | None = None) -> float:
    """Return the cosine similarity of the two waves' speaker embeddings (default encoder:
    resemblyzer, built per call; pass one to reuse it)."""
    enc = encoder if encoder is not None else make_speaker_encoder()
    return cosine(enc.embed(wave_a, sr), enc.embed(wave_b, sr))
