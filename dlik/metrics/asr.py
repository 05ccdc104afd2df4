"""Offline ASR behind a small interface: pocketsphinx with its bundled en-us model, or a
local transformers folder (wav2vec2 / Whisper) for users who have one."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .wer import normalize_text

ASR_SR = 16000
# pocketsphinx fillers/markers: <s> </s> <sil>, [NOISE], ++NOISE++, and "word(2)" variants
_FILLER = re.compile(r"^(<[^>]*>|\[[^\]]*\]|\+\+.*\+\+)$")
_VARIANT = re.compile(r"\(\d+\)$")
_MIN_LN = math.log(5e-324)  # ln of the smallest double: where pocketsphinx scores underflow


@dataclass(frozen=True)
class Hypothesis:
    """An ASR hypothesis (normalised text) and its score (natural log; higher = better)."""

    text: str
    am_score: float


class ASR(Protocol):
    """Speech recogniser: 1-best transcript and N-best list."""

    def transcribe(self, wave: np.ndarray, sr: int) -> str:
        """Return the normalised 1-best transcript."""
        ...

    def nbest(self, wave: np.ndarray, sr: int, n: int) -> list[Hypothesis]:
        """Return up to n distinct normalised hypotheses, best first."""
        ...


def clean_hypothesis(text: str) -> str:
    """Return text without recogniser fillers (<s>, </s>, <sil>, [NOISE], ++X++, word(2)),
    then normalize_text'ed."""
    words = [_VARIANT.sub("", w) for w in text.split() if not _FILLER.match(w)]
    return normalize_text(" ".join(words))


def to_16k(wave: np.ndarray, sr: int) -> np.ndarray:
    """Return wave as float32 mono resampled to 16 kHz."""
    x = np.asarray(wave, np.float32)
    if x.ndim != 1:
        raise ValueError(f"wave must be 1-D mono, got shape {x.shape}")
    if sr == ASR_SR:
        return x
    import librosa

    return librosa.resample(x, orig_sr=sr, target_sr=ASR_SR).astype(np.float32)


class PocketSphinxASR:
    """pocketsphinx 5 with its bundled en-us acoustic model, LM and dictionary (16 kHz,
    int16). Accuracy on synthetic speech is poor: fine for N-best lists, weak for WER."""

    def __init__(self, **decoder_kwargs) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise ImportError("PocketSphinxASR needs `pip install pocketsphinx>=5`") from exc
        decoder_kwargs.setdefault("loglevel", "FATAL")
        self._dec = Decoder(samprate=ASR_SR, **decoder_kwargs)

    def _decode(self, wave: np.ndarray, sr: int) -> None:
        pcm = np.round(np.clip(to_16k(wave, sr), -1.0, 1.0) * 32767).astype("<i2")
        self._dec.start_utt()
        self._dec.process_raw(pcm.tobytes(), full_utt=True)
        self._dec.end_utt()

    def transcribe(self, wave: np.ndarray, sr: int) -> str:
        """Return the normalised 1-best transcript ("" when nothing is recognised)."""
        self._decode(wave, sr)
        hyp = self._dec.hyp()
        return clean_hypothesis(hyp.hypstr) if hyp is not None else ""

    def nbest(self, wave: np.ndarray, sr: int, n: int) -> list[Hypothesis]:
        """Return up to n distinct hypotheses from the decoder's lattice N-best, best first.

        am_score is the natural log of pocketsphinx's N-best path score (acoustic plus
        weighted LM score, so higher = better); it is clamped at ln(5e-324) ~ -744 where the
        wrapper's linear score underflows (utterances of ~40 s and longer). Duplicate texts
        after normalisation keep their best score. Falls back to the 1-best hypothesis with
        score 0.0 if the lattice gives no non-empty hypothesis.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self._decode(wave, sr)
        best: dict[str, float] = {}
        for h in itertools.islice(self._dec.nbest(), 20 * n):
            text = clean_hypothesis(h.hypstr)
            if text and text not in best:
                best[text] = math.log(h.score) if h.score > 0 else _MIN_LN
                if len(best) == n:
                    break
        if not best:
            hyp = self._dec.hyp()
            best[clean_hypothesis(hyp.hypstr) if hyp is not None else ""] = 0.0
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        return [Hypothesis(t, float(s)) for t, s in ranked]


class TransformersASR:
    """A local wav2vec2 / Whisper folder through transformers' ASR pipeline (never
    downloads). Only 1-best: nbest() returns one hypothesis with score 0.0."""

    def __init__(self, model_dir: str, device: str = "cpu") -> None:
        path = Path(model_dir).expanduser()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"model_dir {str(path)!r} must be a local transformers "
                                    "model folder containing config.json")
        from transformers import pipeline

        self._pipe = pipeline("automatic-speech-recognition", model=str(path), device=device,
                              model_kwargs={"local_files_only": True})

    def transcribe(self, wave: np.ndarray, sr: int) -> str:
        """Return the normalised transcript."""
        out = self._pipe({"raw": to_16k(wave, sr), "sampling_rate": ASR_SR})
        return normalize_text(out["text"])

    def nbest(self, wave: np.ndarray, sr: int, n: int) -> list[Hypothesis]:
        """Return the 1-best only (the pipeline exposes no N-best; supply an N-best CSV)."""
        return [Hypothesis(self.transcribe(wave, sr), 0.0)]


ASRS = {"pocketsphinx": PocketSphinxASR, "transformers": TransformersASR}


def make_asr(name: str = "pocketsphinx", **kwargs) -> ASR:
    """Return an ASR by registry name ('pocketsphinx' | 'transformers' with model_dir=...)."""
    if name not in ASRS:
        raise ValueError(f"asr must be one of {list(ASRS)}, got {name!r}")
    return ASRS[name](**kwargs)
