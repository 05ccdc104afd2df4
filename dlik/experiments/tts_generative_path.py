"""Generative path (paper Table 1): syntheses at reverse-time t scored, with audio measures."""

from __future__ import annotations

import pandas as pd
import torch

from ..engine.transport import ode_path, sde_path
from ..models.base import Job
from .audio_measures import MEASURE_COLUMNS, AudioMeasures
from ..seeding import stable_rng

SAMPLERS = ("ode", "sde")


class GenerativePathStudy:
    """For each test text: x1 = mu + z/temperature, reverse ODE/SDE, x_t saved and scored."""

    key_columns = ["sampler", "t_saved", "text", "speaker"]
    extra_columns = ["n_phones", "n_frames", "prior", *MEASURE_COLUMNS]

    def __init__(self, data, adapter, times: list[float] | None = None,
                 samplers: list[str] | None = None, sde_steps: int = 100,
                 temperature: float = 1.0, seed: int = 0, atol: float = 1e-5,
                 rtol: float = 1e-5, measures: dict | None = None,
                 multi_speaker: bool = False) -> None:
        self.times = [float(t) for t in (times or [1.0 - i / 10 for i in range(11)])]
        if self.times != sorted(self.times, reverse=True) or not 0 <= self.times[-1]:
            raise ValueError(f"times must decrease from <= 1 to >= 0, got {self.times}")
        self.samplers = list(samplers or SAMPLERS)
        bad = [s for s in self.samplers if s not in SAMPLERS]
        if bad:
            raise ValueError(f"samplers must be among {list(SAMPLERS)}, got {bad}")
        self.data, self.adapter, self.sde_steps = data, adapter, sde_steps
        self.temperature, self.seed, self.atol, self.rtol = temperature, seed, atol, rtol
        self.measures = AudioMeasures(**(measures or {}))
        self.multi_speaker = multi_speaker

    def _paths(self, u) -> dict[str, list[torch.Tensor]]:
        ad = self.adapter
        spk = int(u.speaker_index) if self.multi_speaker else None
        cond, n = ad.synthesis_cond(u.text, spk)
        gen = torch.Generator().manual_seed(stable_rng(u.utt_id, self.seed).getrandbits(62))
        z = torch.randn(cond["mu"].shape, generator=gen).to(cond["mu"])
        x1 = (cond["mu"] + z / self.temperature) * cond["mask"]
        out = {}
        for s in self.samplers:
            if s == "ode":
                xs = ode_path(ad.drift, x1, self.times, cond=cond, mask=cond["mask"],
                              atol=self.atol, rtol=self.rtol)
            else:
                xs = sde_path(ad.reverse_sde_drift, ad.diffusion, x1, self.times,
                              self.sde_steps, cond=cond, seed=self.seed, mask=cond["mask"])
            out[s] = [x[0, :, :n] for x in xs]
        return out

    def jobs(self) -> list[Job]:
        """Return the real-audio row and one row per (sampler, saved t) for each utterance."""
        from ..data.audio import load_audio, mel_spectrogram

        jobs = []
        for u in self.data.utterances():
            ref = load_audio(str(u.wav_path))
            spk = {"speaker": int(u.speaker_index)} if self.multi_speaker else {}
            base = {"text": u.text, "speaker": u.speaker}
            real_mel = mel_spectrogram(torch.from_numpy(ref))
            jobs.append(Job(u.utt_id, "real", {**base, "sampler": "real", "t_saved": None,
                                               **self.measures.measure(None, ref, u.text, ref)},
                            {"mel": real_mel, "text": u.text, **spk}))
            for sampler, xs in self._paths(u).items():
                for t, mel in zip(self.times, xs):
                    jobs.append(Job(u.utt_id, f"{sampler}@t={t:.2f}",
                                    {**base, "sampler": sampler, "t_saved": t,
                                     **self.measures.measure(mel, ref, u.text)},
                                    {"mel": mel.float().cpu(), "text": u.text, **spk}))
        return jobs

    def summarize(self, df: pd.DataFrame) -> str:
        """Return Table 1: mean bpd and audio measures per (sampler, t)."""
        from ..analysis.formatting import render
        from ..analysis.generative import generative_table

        return render(generative_table(df), "md", "{:.3f}")
