"""Perceptual columns of a study's rows (study.perceptual=true): speech rows are measured on
the HiFi-GAN waveform of the mel the model scores, against the vocoded clean mel of the same
utterance (vocoder artefacts common to both cancel in PESQ and STOI); image rows on the
perturbed image the model scores, against the clean image fitted to the model's size."""

from __future__ import annotations

import numpy as np
import torch

from ..metrics.perceptual import (IMAGE_COLUMNS, NOTE_COLUMN, SPEECH_COLUMNS, VERSIONS_COLUMN,
                                  speech_measures)

SPEECH_EXTRA = [*SPEECH_COLUMNS, NOTE_COLUMN, VERSIONS_COLUMN]
IMAGE_EXTRA = [*IMAGE_COLUMNS, NOTE_COLUMN, VERSIONS_COLUMN]


class VocodedSpeech:
    """Vocodes mels (lazily loaded HiFi-GAN) and measures them against a cached reference."""

    def __init__(self, vocoder: str = "universal") -> None:
        self.vocoder_name, self._voc = vocoder, None
        self._refs: dict[str, np.ndarray] = {}

    def vocode(self, mel: torch.Tensor) -> tuple[np.ndarray, int]:
        """Return (wave, sample rate) of a [80, T] log-mel."""
        from ..vocoder.hifigan import load_hifigan

        if self._voc is None:
            self._voc = load_hifigan(self.vocoder_name)
        with torch.no_grad():
            wave = self._voc(torch.as_tensor(mel)[None].float()).squeeze().cpu().numpy()
        return wave.astype(np.float64), int(getattr(self._voc, "sample_rate", 22050))

    def columns(self, key: str | None, mel: torch.Tensor, ref_mel=None) -> dict:
        """Return the perceptual columns of mel; PESQ/STOI against the vocoded ref_mel (a
        callable, cached under key: one reference per utterance), none when ref_mel is None."""
        wave, sr = self.vocode(mel)
        ref = None
        if ref_mel is not None:
            if key not in self._refs:
                self._refs = {key: self.vocode(ref_mel())[0]}  # one utterance at a time
            ref = self._refs[key]
        return speech_measures(wave, sr, ref)

