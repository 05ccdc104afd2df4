"""Quality study: each utterance clean and under degradations with levels (own text)."""

from __future__ import annotations

import functools

import pandas as pd

from ..data.perturbations import (MEL_PERTURBATIONS, WAVE_PERTURBATIONS, check_perturbation)
from ..models.base import Job
from ..seeding import stable_int
from .tts_text_agnostic import utterance_payload

UNITS = {"white_noise": "snr_db", "babble": "snr_db", "lowpass": "hz", "reverb": "rt60_s",
         "clipping": "fraction_of_peak", "resampling": "hz", "time_stretch": "rate",
         "mel_blur": "sigma"}


def _wave_transform(name: str, level: float, seed: int, other_paths: tuple, wave):
    from ..data.audio import load_audio

    others = [load_audio(p) for p in other_paths]
    return WAVE_PERTURBATIONS[name](wave, 22050, level, seed=seed, others=others)


class QualityStudy:
    """Rows: (utterance, perturbation, level); 'clean' is the reference condition."""

    key_columns = ["perturbation", "level", "level_unit", "speaker"]
    extra_columns = ["n_phones", "n_frames", "prior"]

    def __init__(self, data, perturbations: dict[str, list[float]], seed: int = 0,
                 n_babble: int = 3, multi_speaker: bool = False) -> None:
        for name in perturbations:
            check_perturbation(name)
        self.data, self.perturbations, self.seed = data, dict(perturbations), seed
        self.n_babble, self.multi_speaker = n_babble, multi_speaker

    def jobs(self) -> list[Job]:
        """Return the clean job and one job per (perturbation, level) for each utterance."""
        utts = self.data.utterances()
        pool = [u for u in self.data.pool()]
        jobs = []
        for u in utts:
            base = {**utterance_payload(u, self.multi_speaker), "text": u.text}
            jobs.append(Job(u.utt_id, "clean", {"perturbation": "clean", "level": None,
                                                "level_unit": None, "speaker": u.speaker}, base))
            others = tuple(str(o.wav_path) for o in pool if o.utt_id != u.utt_id)
            for name, levels in self.perturbations.items():
                for level in levels:
                    seed = stable_int(u.utt_id, name, level, self.seed)
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
                    jobs.append(Job(u.utt_id, f"{name}@{level}",
                                    {"perturbation": name, "level": level,
                                     "level_unit": UNITS[name], "speaker": u.speaker}, payload))
        return jobs

    def summarize(self, df: pd.DataFrame) -> str:
        """Return mean bpd per (perturbation, level) next to clean."""
        from ..analysis.formatting import render
        from ..analysis.quality import quality_table

        return render(quality_table(df), "md", "{:.4f}")
