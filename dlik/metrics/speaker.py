"""Speaker similarity (ASV) behind a small interface: resemblyzer's shipped encoder."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class SpeakerEncoder(Protocol):
    """Maps a wave to a speaker embedding."""

    def embed(self, wave: np.ndarray, sr: int) -> np.ndarray:
        """Return a 1-D embedding."""


class ResemblyzerEncoder:
    """resemblyzer's pretrained GE2E encoder (256-d, 16 kHz, ships with the package)."""

    def __init__(self, device: str = "cpu") -> None:
        from resemblyzer import VoiceEncoder

        self._enc = VoiceEncoder(device=device, verbose=False)

    def embed(self, wave: np.ndarray, sr: int) -> np.ndarray:
        """Return the utterance embedding (unit norm)."""
        from resemblyzer import preprocess_wav

        return self._enc.embed_utterance(preprocess_wav(np.asarray(wave, np.float32),
                                                        source_sr=sr))


ENCODERS = {"resemblyzer": ResemblyzerEncoder}


def make_speaker_encoder(name: str = "resemblyzer", **kwargs) -> SpeakerEncoder:
    """Return a speaker encoder by registry name."""
    if name not in ENCODERS:
        raise ValueError(f"speaker encoder must be one of {list(ENCODERS)}, got {name!r}")
    return ENCODERS[name](**kwargs)


def speaker_similarity(wave_a: np.ndarray, wave_b: np.ndarray, sr: int,
                       encoder: SpeakerEncoder | None = None) -> float:
    """Return the cosine similarity of two waves' speaker embeddings."""
    enc = encoder or make_speaker_encoder()
    a, b = enc.embed(wave_a, sr), enc.embed(wave_b, sr)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
