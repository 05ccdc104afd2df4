"""Quality study: each utterance clean and under degradations with levels (own text)."""

from __future__ import annotations

import functools

import numpy as np
import torch

from ..data.perturbations import (MEL_PERTURBATIONS, WAVE_PERTURBATIONS, check_perturbation)
from ..models.base import Job
from .base import StudyBase
from .perceptual_rows import SPEECH_EXTRA, VocodedSpeech
from ..seeding import stable_int
from .tts_text_agnostic import speech_payload

UNITS = {"white_noise": "snr_db", "babble": "snr_db", "lowpass": "hz", "reverb": "rt60_s",
         "clipping": "fraction_of_peak", "resampling": "hz", "time_stretch": "rate",
         "mel_blur": "sigma"}


def _wave_transform(name: str, level: float, seed: int, other_paths: tuple, wave):
    from ..data.audio import load_audio

    others = [load_audio(p) for p in other_paths]
    return WAVE_PERTURBATIONS[name](wave, 22050, level, seed=seed, others=others)


def _mel(audio_path: str, transform=None, mel_transform=None) -> torch.Tensor:
    """Return the log-mel the Grad-TTS adapter scores for a wave file and its transforms."""
    from ..data.audio import load_audio, mel_spectrogram

    wave = load_audio(audio_path)
    if transform is not None:
        wave = transform(wave)
    mel = mel_spectrogram(torch.from_numpy(np.ascontiguousarray(wave, np.float32)))
    return mel if mel_transform is None else mel_transform(mel)


class QualityStudy(StudyBase):
    """Rows: (utterance, perturbation, level); 'clean' is the reference condition.

    perceptual=true adds DNSMOS, PESQ and STOI of each row's vocoded mel (perceptual_rows.py).
    """

    table = "quality"

    key_columns = ["perturbation", "level", "level_unit", "speaker"]
    extra_columns: list[str] = []

    def __init__(self, data, perturbations: dict[str, list[float]], seed: int = 0,
                 n_babble: int = 3, multi_speaker: bool = False, perceptual: bool = False,
                 vocoder: str = "universal") -> None:
        for name in perturbations:
            check_perturbation(name)
        self.data, self.perturbations, self.seed = data, dict(perturbations), seed
        self.n_babble, self.multi_speaker = n_babble, multi_speaker
        self.perceptual = VocodedSpeech(vocoder) if perceptual else None
        self.extra_columns = list(SPEECH_EXTRA) if perceptual else []

    def _stage(self, payload: dict):
        """Return the job's stage: its perceptual columns (None when not asked for)."""
        if self.perceptual is None:
            return None
        path = str(payload["audio_path"])
        return lambda: ({}, self.perceptual.columns(
            path, _mel(path, payload.get("wave_transform"), payload.get("mel_transform")),
            lambda: _mel(path)))

    def jobs(self) -> list[Job]:
        """Return the clean job and one job per (perturbation, level) for each utterance."""
        pool = self.data.pool_items()
        jobs = []
        for it in self.data.items():
            uid, spk = it.item_id, it.columns["speaker"]
            base = {**speech_payload(it, self.multi_speaker), "text": it.payload["text"]}
            jobs.append(Job(uid, "clean", {"perturbation": "clean", "level": None,
                                           "level_unit": None, "speaker": spk}, base,
                            stage=self._stage(base)))
            others = tuple(o.payload["audio_path"] for o in pool if o.item_id != uid)
            for name, levels in self.perturbations.items():
                for level in levels:
                    seed = stable_int(uid, name, level, self.seed)
                    payload = dict(base)
                    if name in MEL_PERTURBATIONS:
                        payload["mel_transform"] = functools.partial(
                            MEL_PERTURBATIONS[name], level=float(level))
                    else:
                        k = (seed % max(len(others), 1))
                        picks = (others[k:] + others[:k])[: self.n_babble]
                        payload["wave_transform"] = functools.partial(
                            _wave_transform, name, float(level), seed,
                            picks if name == "babble" else ())
                    jobs.append(Job(uid, f"{name}@{level}",
                                    {"perturbation": name, "level": level,
                                     "level_unit": UNITS[name], "speaker": spk}, payload,
                                    stage=self._stage(payload), input=f"{name}@{level}"))
        return jobs
