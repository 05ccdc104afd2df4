"""Generative path (paper Table 1): syntheses at reverse-time t scored, with audio measures.

Listing jobs is cheap; the synthesis of an utterance (both samplers, every saved t) runs when
its first surviving job is staged, and is cached for that utterance's other jobs.
"""

from __future__ import annotations

import torch

from ..engine.transport import ode_path, sde_path
from ..models.base import Job, require
from ..seeding import stable_rng
from .audio_measures import MEASURE_COLUMNS, AudioMeasures
from .base import StudyBase
from .perceptual_rows import SPEECH_EXTRA, VocodedSpeech

SAMPLERS = ("ode", "sde")


class GenerativePathStudy(StudyBase):
    """For each test text: x1 = mu + z/temperature, reverse ODE/SDE, x_t saved and scored."""

    table = "generative_path"

    key_columns = ["sampler", "t_saved", "text", "speaker"]
    extra_columns = [*MEASURE_COLUMNS]

    def __init__(self, data, adapter, times: list[float] | None = None,
                 samplers: list[str] | None = None, sde_steps: int = 100,
                 temperature: float = 1.0, seed: int = 0, atol: float = 1e-5,
                 rtol: float = 1e-5, measures: dict | None = None,
                 multi_speaker: bool = False, perceptual: bool = False) -> None:
        self.times = [float(t) for t in (times or [1.0 - i / 10 for i in range(11)])]
        if self.times != sorted(self.times, reverse=True) or not 0 <= self.times[-1]:
            raise ValueError(f"times must decrease from <= 1 to >= 0, got {self.times}")
        self.samplers = list(samplers or SAMPLERS)
        bad = [s for s in self.samplers if s not in SAMPLERS]
        if bad:
            raise ValueError(f"samplers must be among {list(SAMPLERS)}, got {bad}")
        self.data, self.adapter, self.sde_steps = data, require(adapter, "sample"), sde_steps
        self.temperature, self.seed, self.atol, self.rtol = temperature, seed, atol, rtol
        self.measures = AudioMeasures(**(measures or {}))
        self.multi_speaker = multi_speaker
        self.perceptual = VocodedSpeech(self.measures.vocoder_name) if perceptual else None
        if perceptual:  # DNSMOS of each vocoded mel (no time-aligned reference for PESQ/STOI)
            self.extra_columns = [*MEASURE_COLUMNS, *SPEECH_EXTRA]
        self._cache: dict[str, dict[str, list[dict]]] = {}

    def _payload(self, it) -> dict:
        spk = {"speaker": int(it.payload["speaker"])} if self.multi_speaker else {}
        return {"text": it.payload["text"], **spk}

    def _paths(self, it) -> dict[str, list[dict]]:
        """Return {sampler: [payload of x_t for t in times]} of one item (cached per item)."""
        if it.item_id in self._cache:
            return self._cache[it.item_id]
        ad = self.adapter
        gen = torch.Generator().manual_seed(stable_rng(it.item_id, self.seed).getrandbits(62))
        start = ad.sample_prior(Job(it.item_id, "sample", payload=self._payload(it)), gen,
                                self.temperature)
        x1, mask = start.x0[None], start.mask[None]
        cond = {k: v[None] for k, v in start.cond.items()}
        out = {}
        for s in self.samplers:
            if s == "ode":
                xs = ode_path(ad.drift, x1, self.times, cond=cond, mask=mask,
                              atol=self.atol, rtol=self.rtol)
            else:
                xs = sde_path(ad.reverse_sde_drift, ad.diffusion, x1, self.times,
                              self.sde_steps, cond=cond, seed=self.seed, mask=mask)
            out[s] = [ad.payload_of(x[0], start) for x in xs]
        self._cache = {it.item_id: out}  # one utterance at a time: its jobs are consecutive
        return out

    def _real_stage(self, it) -> tuple[dict, dict]:
        from ..data.audio import load_audio, mel_spectrogram

        ref = load_audio(it.payload["audio_path"])
        cols = self.measures.measure(None, ref, it.payload["text"], ref)
        mel = mel_spectrogram(torch.from_numpy(ref))
        return {"mel": mel}, {**cols, **self._perceptual(mel)}

    def _perceptual(self, mel) -> dict:
        return {} if self.perceptual is None else self.perceptual.columns(None, mel)

    def _path_stage(self, it, sampler: str, i: int) -> tuple[dict, dict]:
        from ..data.audio import load_audio

        payload = self._paths(it)[sampler][i]
        ref = load_audio(it.payload["audio_path"])
        return payload, {**self.measures.measure(payload["mel"], ref, it.payload["text"]),
                         **self._perceptual(payload["mel"])}

    def jobs(self) -> list[Job]:
        """Return the real-audio row and one row per (sampler, saved t) for each utterance."""
        jobs = []
        for it in self.data.items():
            base = {"text": it.payload["text"], "speaker": it.columns["speaker"]}
            payload = self._payload(it)
            jobs.append(Job(it.item_id, "real", {**base, "sampler": "real", "t_saved": None},
                            payload, stage=lambda it=it: self._real_stage(it)))
            for sampler in self.samplers:
                for i, t in enumerate(self.times):
                    jobs.append(Job(it.item_id, f"{sampler}@t={t:.2f}",
                                    {**base, "sampler": sampler, "t_saved": t}, payload,
                                    stage=lambda it=it, s=sampler, i=i: self._path_stage(it, s, i),
                                    input=f"{sampler}@t={t:.2f}"))
        return jobs
