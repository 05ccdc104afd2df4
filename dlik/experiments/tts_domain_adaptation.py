"""Domain adaptation (paper Table 3): out-of-domain audio -> blurred mel -> forward ODE ->
reverse ODE under the target model; WER / bpd / ASV per (forward, reverse) solver pair."""

from __future__ import annotations

import pandas as pd
import torch

from ..data.perturbations import mel_blur, white_noise
from ..engine.transport import ode_path
from ..models.base import Job
from .audio_measures import MEASURE_COLUMNS, AudioMeasures

SOLVERS = {"euler": "euler", "rk45": "dopri5"}


class DomainAdaptationStudy:
    """Rows: (OOD utterance, solver pair); 'none' is the blurred input itself."""

    key_columns = ["solver_pair", "forward_solver", "reverse_solver", "text", "speaker"]
    extra_columns = ["n_phones", "n_frames", "prior", *MEASURE_COLUMNS]

    def __init__(self, data, adapter, pairs: list[str] | None = None, blur_sigma: float = 1.0,
                 noise_snr_db: float | None = 20.0, euler_steps: int = 50, atol: float = 1e-5,
                 rtol: float = 1e-5, t_end: float = 1.0, target_reference: str | None = None,
                 measures: dict | None = None, seed: int = 0) -> None:
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
        self.measures = AudioMeasures(**(measures or {}))

    def _solve(self, x, times, cond, name):
        kw = ({"method": "euler", "step_size": 1.0 / self.euler_steps} if name == "euler"
              else {"method": "dopri5", "atol": self.atol, "rtol": self.rtol})
        return ode_path(self.adapter.drift, x, times, cond=cond, mask=cond["mask"], **kw)[-1]

    def _target_wave(self):
        from ..data.audio import load_audio

        if self.target_reference:
            return load_audio(self.target_reference)
        from ..data.tts_corpus import TTSCorpus

        return load_audio(str(TTSCorpus("ljspeech", split="train", n_utterances=1)
                              .utterances()[0].wav_path))

    def jobs(self) -> list[Job]:
        """Return the 'none' row and one row per solver pair for each OOD utterance."""
        from ..data.audio import load_audio, mel_spectrogram
        from ..models.gradtts.align_prior import aligned_mu
        from ..text import text_to_ids

        ad = self.adapter
        target = self._target_wave() if self.measures.enabled else None
        jobs = []
        for u in self.data.utterances():
            src = load_audio(str(u.wav_path))
            wave = src if self.noise_snr_db is None else white_noise(
                src, 22050, self.noise_snr_db, seed=self.seed)
            mel = mel_blur(mel_spectrogram(torch.from_numpy(wave)), self.blur_sigma)
            ids = text_to_ids(u.text, ad.dictionary)
            mu = aligned_mu(ad.model, ids, mel, None, ad.device, ad.dtype)
            cond, n = ad.cond_for(mu, None)
            x0 = torch.zeros_like(cond["mu"])
            x0[0, :, :n] = mel.to(x0)
            base = {"text": u.text, "speaker": u.speaker}
            outs = {"none": mel}
            for pair in self.pairs:
                fwd, rev = pair.split("-")
                x1 = self._solve(x0, [0.0, self.t_end], cond, fwd)
                outs[pair] = self._solve(x1, [self.t_end, 0.0], cond, rev)[0, :, :n].float()
            for pair, out in outs.items():
                fwd, rev = pair.split("-") if pair != "none" else ("-", "-")
                cols = {**base, "solver_pair": pair, "forward_solver": fwd,
                        "reverse_solver": rev,
                        **self.measures.measure(out, src, u.text, asv_ref=target)}
                jobs.append(Job(u.utt_id, pair, cols, {"mel": out.cpu(), "text": u.text}))
        return jobs

    def summarize(self, df: pd.DataFrame) -> str:
        """Return Table 3: WER / bpd / ASV per solver pair."""
        from ..analysis.domain import domain_table
        from ..analysis.formatting import render

        return render(domain_table(df), "md", "{:.3f}")
