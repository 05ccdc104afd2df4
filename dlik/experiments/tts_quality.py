"""Quality study: each utterance clean and under degradations with levels (own text)."""

from __future__ import annotations

import functools

from ..data.perturbations import (MEL_PERTURBATIONS, WAVE_PERTURBATIONS, check_perturbation)
from ..models.base import Job
from .base import StudyBase
from ..seeding import stable_int
from .tts_text_agnostic import speech_payload

UNITS = {"white_noise": "snr_db", "babble": "snr_db", "lowpass": "hz", "reverb": "rt60_s",
         "clipping": "fraction_of_peak", "resampling": "hz", "time_stretch": "rate",
         "mel_blur": "sigma"}


def _wave_transform(name: str, level: float, seed: int, other_paths: tuple, wave):
    from ..data.audio import load_audio

    others = [load_audio(p) for p in other_paths]
    return WAVE_PERTURBATIONS[name](wave, 22050, level, seed=seed, others=others)


class QualityStudy(StudyBase):
    """Rows: (utterance, perturbation, level); 'clean' is the reference condition."""

    table = "quality"

    key_columns = ["perturbation", "level", "level_unit", "speaker"]
    extra_columns: list[str] = []

    def __init__(self, data, perturbations: dict[str, list[float]], seed: int = 0,
                 n_babble: int = 3, multi_speaker: bool = False) -> None:
        for name in perturbations:
            check_perturbation(name)
        self.data, self.perturbations, self.seed = data, dict(perturbations), seed
        self.n_babble, self.multi_speaker = n_babble, multi_speaker

    def jobs(self) -> list[Job]:
        """Return the clean job and one job per (perturbation, level) for each utterance."""
        pool = self.data.pool_items()
        jobs = []
        for it in self.data.items():
            uid, spk = it.item_id, it.columns["speaker"]
            base = {**speech_payload(it, self.multi_speaker), "text": it.payload["text"]}
            jobs.append(Job(uid, "clean", {"perturbation": "clean", "level": None,
                                           "level_unit": None, "speaker": spk}, base))
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
                                    input=f"{name}@{level}"))
        return jobs
