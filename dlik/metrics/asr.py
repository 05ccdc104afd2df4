"""Offline ASR behind a small interface: pocketsphinx (shipped model), or a local
transformers model folder (wav2vec2 / Whisper) for users who have one."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .wer import normalize_text


@dataclass(frozen=True)
class Hypothesis:
    """An ASR hypothesis and its acoustic-model score (higher = better)."""

    text: str
    am_score: float


class ASR(Protocol):
    """Speech recogniser: transcribe and N-best."""

    def transcribe(self, wave: np.ndarray, sr: int) -> str:
        """Return the 1-best transcript (normalised)."""

    def nbest(self, wave: np.ndarray, sr: int, n: int) -> list[Hypothesis]:
        """Return up to n distinct hypotheses, best first."""


def _to_16k(wave: np.ndarray, sr: int) -> np.ndarray:
    if sr == 16000:
        return np.asarray(wave, np.float32)
    import librosa

    return librosa.resample(np.asarray(wave, np.float32), orig_sr=sr, target_sr=16000)


class PocketSphinxASR:
    """pocketsphinx 5 with its bundled en-us model (16 kHz); weak on synthetic speech."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._dec = Decoder(samprate=16000, loglevel="FATAL")

    def _decode(self, wave: np.ndarray, sr: int) -> None:
        pcm = (np.clip(_to_16k(wave, sr), -1, 1) * 32767).astype(np.int16).tobytes()
        self._dec.start_utt()
        self._dec.process_raw(pcm, full_utt=True)
        self._dec.end_utt()

    def transcribe(self, wave: np.ndarray, sr: int) -> str:
        """Return the 1-best transcript."""
        self._decode(wave, sr)
        hyp = self._dec.hyp()
        return normalize_text(hyp.hypstr) if hyp is not None else ""

    def nbest(self, wave: np.ndarray, sr: int, n: int) -> list[Hypothesis]:
        """Return up to n distinct hypotheses with log scores (higher = better)."""
        self._decode(wave, sr)
        out: dict[str, float] = {}
        for h in itertools.islice(self._dec.nbest(), 10 * n):
            text = normalize_text(h.hypstr)
            if text and text not in out:
                out[text] = math.log(max(float(h.score), 1e-300))
            if len(out) >= n:
                break
        if not out:
            out[self.transcribe(wave, sr)] = 0.0
        return [Hypothesis(t, s) for t, s in out.items()]


class TransformersASR:
    """A local wav2vec2 / Whisper folder through transformers' ASR pipeline (no hub access)."""

    def __init__(self, model_dir: str, device: str = "cpu") -> None:
        from transformers import pipeline

        self._pipe = pipeline("automatic-speech-recognition", model=model_dir, device=device,
                              model_kwargs={"local_files_only": True})

    def transcribe(self, wave: np.ndarray, sr: int) -> str:
        """Return the transcript."""
        return normalize_text(self._pipe({"raw": _to_16k(wave, sr), "sampling_rate": 16000})
                              ["text"])

    def nbest(self, wave: np.ndarray, sr: int, n: int) -> list[Hypothesis]:
        """Return the 1-best only (the pipeline exposes no N-best): use an N-best CSV."""
        return [Hypothesis(self.transcribe(wave, sr), 0.0)]


ASRS = {"pocketsphinx": PocketSphinxASR, "transformers": TransformersASR}


def make_asr(name: str = "pocketsphinx", **kwargs) -> ASR:
    """Return an ASR by registry name."""
    if name not in ASRS:
        raise ValueError(f"asr must be one of {list(ASRS)}, got {name!r}")
    return ASRS[name](**kwargs)
