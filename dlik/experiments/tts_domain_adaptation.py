"""Domain adaptation (paper Table 3): out-of-domain audio -> blurred mel -> forward ODE ->
reverse ODE under the target model; WER / bpd / ASV per (forward, reverse) solver pair."""

from __future__ import annotations

import torch

from ..data.perturbations import mel_blur, white_noise
from ..engine.transport import ode_path
from ..models.base import Job
from .base import StudyBase
from .audio_measures import MEASURE_COLUMNS, AudioMeasures

SOLVERS = {"euler": "euler", "rk45": "dopri5"}


class DomainAdaptationStudy(StudyBase):
    """Rows: (OOD utterance, solver pair); 'none' is the blurred input itself."""

    table = "domain_adaptation"

    key_columns = ["solver_pair", "forward_solver", "reverse_solver", "text", "speaker"]
    extra_columns = [*MEASURE_COLUMNS]

    def __init__(self, data, adapter, pairs: list[str] | None = None, blur_sigma: float = 1.0,
                 noise_snr_db: float | None = 20.0, euler_steps: int = 50, atol: float = 1e-5,
                 rtol: float = 1e-5, t_end: float = 1.0, target_reference: str | None = None,
                 target_data=None, measures: dict | None = None, seed: int = 0) -> None:
        self.pairs = list(pairs or ["euler-euler", "rk45-euler", "rk45-rk45"])
        for p in self.pairs:
            parts = p.split("-")
            if len(parts) != 2 or any(s not in SOLVERS for s in parts):
                raise ValueError(f"pairs must be 'fwd-rev' with fwd, rev in {list(SOLVERS)}, "
                                 f"got {p!r}")
        self.data, self.adapter, self.blur_sigma = data, adapter, blur_sigma
        self.noise_snr_db, self.euler_steps, self.atol, self.rtol = (noise_snr_db, euler_steps,
                                                                     atol, rtol)
        self.t_end, self.target_reference, self.seed = t_end, target_reference, seed
        self.target_data, self._target, self._cache = target_data, None, {}
        self.measures = AudioMeasures(**(measures or {}))

    def _solve(self, x, times, cond, mask, name):
        kw = ({"method": "euler", "step_size": 1.0 / self.euler_steps} if name == "euler"
              else {"method": "dopri5", "atol": self.atol, "rtol": self.rtol})
        return ode_path(self.adapter.drift, x, times, cond=cond, mask=mask, **kw)[-1]

    def _target_wave(self):
        from ..data.audio import load_audio

        if self._target is None:
            if self.target_reference:
                self._target = load_audio(self.target_reference)
            elif self.target_data is not None:
                self._target = load_audio(self.target_data.items()[0].payload["audio_path"])
            else:
                raise ValueError("asv against the target speaker needs study.target_reference "
                                 "(a wav) or study.target_data (a data set)")
        return self._target

    def _outputs(self, it) -> dict:
        """Return {pair: mel} of one item: the blurred input and each solver pair's output
        (cached for the item's other jobs)."""
        if it.item_id in self._cache:
            return self._cache[it.item_id]
        from ..data.audio import load_audio, mel_spectrogram

        src = load_audio(it.payload["audio_path"])
        wave = src if self.noise_snr_db is None else white_noise(
            src, 22050, self.noise_snr_db, seed=self.seed)
        mel = mel_blur(mel_spectrogram(torch.from_numpy(wave)), self.blur_sigma)
        prep = self.adapter.prepare(Job(it.item_id, "none",
                                        payload={"mel": mel, "text": it.payload["text"]}))
        x0, mask = prep.x0[None], prep.mask[None]
        cond = {k: v[None] for k, v in prep.cond.items()}
        n = mel.shape[1]
        outs = {"none": mel}
        for pair in self.pairs:
            fwd, rev = pair.split("-")
            x1 = self._solve(x0, [0.0, self.t_end], cond, mask, fwd)
            outs[pair] = self._solve(x1, [self.t_end, 0.0], cond, mask, rev)[0, :, :n].float()
        self._cache = {it.item_id: (src, outs)}  # one item at a time: its jobs are consecutive
        return self._cache[it.item_id]

    def _stage(self, it, pair: str) -> tuple[dict, dict]:
        src, outs = self._outputs(it)
        target = self._target_wave() if self.measures.enabled else None
        cols = self.measures.measure(outs[pair], src, it.payload["text"], asv_ref=target)
        return {"mel": outs[pair].cpu()}, cols

    def jobs(self) -> list[Job]:
        """Return the 'none' row and one row per solver pair for each OOD utterance."""
        jobs = []
        for it in self.data.items():
            base = {"text": it.payload["text"], "speaker": it.columns["speaker"]}
            for pair in ["none", *self.pairs]:
                fwd, rev = pair.split("-") if pair != "none" else ("-", "-")
                cols = {**base, "solver_pair": pair, "forward_solver": fwd,
                        "reverse_solver": rev}
                jobs.append(Job(it.item_id, pair, cols, {"text": it.payload["text"]},
                                stage=lambda it=it, p=pair: self._stage(it, p), input=pair))
        return jobs
