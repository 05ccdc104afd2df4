"""Audio measures of a mel against a real reference: vocode, then F0, MCD, WER, ASV."""

from __future__ import annotations

import numpy as np
import torch

SR = 22050
MEASURE_COLUMNS = ["logf0_rmse", "mcd_db", "wer", "asr_hypothesis", "asv_cosine"]


class AudioMeasures:
    """Lazily built vocoder, ASR and speaker encoder; measure() returns one dict of columns."""

    def __init__(self, vocoder: str = "universal", asr: str = "pocketsphinx",
                 speaker: str = "resemblyzer", enabled: bool = True) -> None:
        self.vocoder_name, self.asr_name, self.speaker_name = vocoder, asr, speaker
        self.enabled = enabled
        self._voc = self._asr = self._spk = None

    def vocode(self, mel: torch.Tensor) -> np.ndarray:
        """Return the HiFi-GAN waveform of a [80, T] log-mel."""
        from ..vocoder.hifigan import load_hifigan

        if self._voc is None:
            self._voc = load_hifigan(self.vocoder_name)
        with torch.no_grad():
            return self._voc(mel[None].float()).squeeze().cpu().numpy()

    def measure(self, mel: torch.Tensor | None, ref_wave: np.ndarray, ref_text: str,
                wave: np.ndarray | None = None, asv_ref: np.ndarray | None = None) -> dict:
        """Return logf0_rmse, mcd_db, wer, asr_hypothesis, asv_cosine of mel (or wave).

        F0 and MCD compare with ref_wave; speaker similarity with asv_ref (default ref_wave).
        """
        if not self.enabled:
            return {}
        from ..metrics.asr import make_asr
        from ..metrics.prosody import logf0_rmse, mcd
        from ..metrics.speaker import make_speaker_encoder, speaker_similarity
        from ..metrics.wer import normalize_text, wer

        if self._asr is None:
            self._asr = make_asr(self.asr_name)
            self._spk = make_speaker_encoder(self.speaker_name)
        wave = self.vocode(mel) if wave is None else wave
        hyp = self._asr.transcribe(wave, SR)
        return {
            "logf0_rmse": logf0_rmse(ref_wave, wave, SR),
            "mcd_db": mcd(ref_wave, wave, SR),
            "wer": wer([normalize_text(ref_text)], [normalize_text(hyp)]),
            "asr_hypothesis": hyp,
            "asv_cosine": speaker_similarity(ref_wave if asv_ref is None else asv_ref, wave, SR,
                                             encoder=self._spk),
        }
