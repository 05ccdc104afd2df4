"""Grad-TTS likelihood adapter: (audio, text, speaker) -> mel x0, aligned mu prior, drift."""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from ..schedules import LinearBetaSchedule, pf_ode_drift, reverse_sde_drift
from ..base import Job, Prepared
from .align_prior import BLANK_ID, aligned_mu
from .checkpoint import checkpoint_hash, load_gradtts
from .default_weights import resolve_checkpoint

PRIORS = ("standard", "x0_terminal")
"""standard: N(mu, I), the model's prior (a likelihood); x0_terminal: N(a x0 + (1-a) mu,
1 - a^2), the SDE's law at t = 1 given the input x0 itself: it depends on the data being
scored, so the result is NOT a likelihood (a diagnostic of the prior term only)."""
EMBEDDED_KEYS = ("phoneme_embedding", "encoder_output")


def pad_frames(n: int, multiple: int = 4) -> int:
    """Return n rounded up to a multiple of `multiple` (the decoder U-Net downsamples twice)."""
    return int(math.ceil(n / multiple) * multiple)


class GradTTSAdapter:
    """Scores a mel under Grad-TTS: mu from the text encoder aligned to the real mel by MAS.

    Job payload: `text` (str), and `audio_path` (str) or `wave` (np.ndarray, 22.05 kHz) or
    `mel` (Tensor [80, T]); optional `speaker` (int index) for multi-speaker models.
    The null condition is the empty text (one blank token, so mu is the blank's encoder mean on
    every frame) under the same speaker: payload `null_condition: True` scores it.
    """

    capabilities: frozenset[str] = frozenset({"null_condition", "sample", "score"})
    input_kind = "mel"
    columns: tuple[str, ...] = ("n_phones", "n_frames", "prior")

    def __init__(self, checkpoint: str | None = "embedded:ljspeech", prior: str = "standard",
                 dictionary: str | None = None, pe_scale: float | None = None,
                 dtype: str = "float32", device: str = "cpu", compile: bool = False,
                 cache_size: int = 256) -> None:
        if prior == "terminal":
            raise ValueError("prior 'terminal' is now 'x0_terminal': the SDE's law at t=1 given "
                             "the scored x0 itself, not a likelihood; use prior=standard")
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {list(PRIORS)}, got {prior!r}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be one of ['float32', 'float64'], got {dtype!r}")
        from ...text import CMUDict

        path = resolve_checkpoint(checkpoint)
        self._path = path
        hp = {} if pe_scale is None else {"pe_scale": pe_scale}
        self.device = torch.device(device)
        self.dtype = getattr(torch, dtype)
        self.model = load_gradtts(path, map_location="cpu", **hp).to(self.device, self.dtype)
        self.model.eval()
        self.cfg = self.model.cfg
        self.schedule = LinearBetaSchedule(self.cfg.beta_min, self.cfg.beta_max)
        self.prior = prior
        self.dictionary = CMUDict.from_file(dictionary) if dictionary else CMUDict.default()
        self._hash = checkpoint_hash(path)
        self.model_id = f"gradtts:{Path(path).name}"
        self.estimator = self.model.decoder.estimator
        if compile:
            self.estimator = torch.compile(self.estimator)
        self._null_mu: torch.Tensor | None = None
        self._waves: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def weights_hash(self) -> str:
        """Return the checkpoint's sha256 prefix plus the prior setting."""
        return f"{self._hash}:{self.prior}"

    def wave_of(self, payload: dict) -> np.ndarray:
        """Return the 22.05 kHz mono wave of a payload's 'wave' or 'audio_path' (LRU-cached)."""
        from ...data.audio import load_audio

        if "wave" in payload:
            return np.asarray(payload["wave"], np.float32)
        if "audio_path" not in payload:
            raise ValueError("job payload needs one of 'audio_path', 'wave' or 'mel'")
        key = str(payload["audio_path"])
        if key not in self._waves:
            if not Path(key).exists():
                raise FileNotFoundError(f"audio file {key} does not exist")
            self._waves[key] = load_audio(key)
            while len(self._waves) > self._cache_size:
                self._waves.popitem(last=False)
        return self._waves[key]

    def mel_of(self, payload: dict) -> torch.Tensor:
        """Return the [80, T] log-mel of a payload, after its optional wave/mel transforms."""
        from ...data.audio import mel_spectrogram

        if "mel" in payload:
            mel = torch.as_tensor(payload["mel"], dtype=torch.float32)
        else:
            wave = self.wave_of(payload)
            if payload.get("wave_transform") is not None:
                wave = payload["wave_transform"](wave)
            mel = mel_spectrogram(torch.from_numpy(np.ascontiguousarray(wave, np.float32)))
        if payload.get("mel_transform") is not None:
            mel = payload["mel_transform"](mel)
        return mel

    def speaker_tensor(self, payload: dict) -> torch.Tensor | None:
        """Return the speaker index tensor for multi-speaker models (None for one speaker)."""
        spk = payload.get("speaker")
        if self.cfg.n_spks <= 1:
            return None
        if spk is None:
            raise ValueError(f"model has {self.cfg.n_spks} speakers: job payload needs 'speaker'")
        if not 0 <= int(spk) < self.cfg.n_spks:
            raise ValueError(f"speaker must be in [0, {self.cfg.n_spks}), got {spk}")
        return torch.tensor([int(spk)], device=self.device)

    @torch.no_grad()
    def prepare(self, job: Job) -> Prepared:
        """Return mel x0 padded to a multiple of 4 frames, its mask, and the aligned mu prior.
        Payload `phoneme_embedding` ([T_x, C] encoder-input rows) or `encoder_output`
        ([T_x, F] encoder means), one row per token of `text`, replaces the text's rows on the
        text's own alignment (the condition-headroom search's conditions)."""
        from ...text import text_to_ids

        embedded = [k for k in EMBEDDED_KEYS if job.payload.get(k) is not None]
        if embedded:
            return self._prepare_embedded(job.payload, embedded)
        mel = self._checked_mel(job.payload)
        text = "" if job.payload.get("null_condition") else str(job.payload.get("text", ""))
        ids = text_to_ids(text, self.dictionary)
        spk = self.speaker_tensor(job.payload)
        mu = aligned_mu(self.model, ids, mel, spk, self.device, self.dtype)  # [80, T]
        return self.prepared_from_mu(mel, mu, spk, sum(1 for i in ids if i != BLANK_ID))

    def _checked_mel(self, payload: dict) -> torch.Tensor:
        mel = self.mel_of(payload)
        if mel.dim() != 2 or mel.shape[0] != self.cfg.n_feats:
            raise ValueError(f"mel must be [{self.cfg.n_feats}, T], got {tuple(mel.shape)}")
        if not torch.isfinite(mel).all():
            raise ValueError("mel has non-finite values")
        return mel

    def _prepare_embedded(self, payload: dict, keys: list[str]) -> Prepared:
        if len(keys) > 1 or payload.get("null_condition"):
            raise ValueError(f"give one of {list(EMBEDDED_KEYS)} and no null_condition, got "
                             f"{keys} (null_condition={payload.get('null_condition')})")
        parts = self.text_parts(payload)
        rows = torch.as_tensor(payload[keys[0]]).to(self.device, self.dtype)
        want = (parts["embedding"].shape[0],
                self.cfg.n_enc_channels if keys[0] == "phoneme_embedding" else self.cfg.n_feats)
        if tuple(rows.shape) != want or not torch.isfinite(rows).all():
            raise ValueError(f"{keys[0]} must be finite with shape {want} (one row per token "
                             f"of the text), got {tuple(rows.shape)}")
        mu_x = self.encode_embedded(rows) if keys[0] == "phoneme_embedding" else rows.T
        return self.prepared_from_mu(parts["mel"], mu_x @ parts["path"], parts["spk"],
                                     parts["n_phones"])

    @torch.no_grad()
    def text_parts(self, payload: dict) -> dict:
        """Return the payload's mel, speaker, token ids, their embedding rows [T_x, C] (the
        table's units), the MAS path [T_x, T] of the text's encoder means to the mel, and the
        phone count: what a condition on the text's alignment keeps fixed."""
        from ...text import text_to_ids
        from .align_prior import mas_log_prior
        from .alignment import maximum_path

        mel = self._checked_mel(payload)
        ids = text_to_ids(str(payload.get("text", "")), self.dictionary) or [BLANK_ID]
        if len(ids) > mel.shape[1]:
            raise ValueError(f"text has {len(ids)} tokens but the audio only {mel.shape[1]} "
                             "frames: monotonic alignment needs at least one frame per token")
        spk = self.speaker_tensor(payload)
        x = torch.tensor([ids], dtype=torch.long, device=self.device)
        emb = self.model.encoder.emb(x)[0]
        mu_x = self.encode_embedded(emb)
        y = mel[None].to(self.device, self.dtype)
        mask = torch.ones(1, len(ids), mel.shape[1], dtype=self.dtype, device=self.device)
        path = maximum_path(mas_log_prior(mu_x[None], y), mask)[0]
        return {"mel": mel, "spk": spk, "ids": ids, "embedding": emb, "path": path,
                "n_phones": sum(1 for i in ids if i != BLANK_ID)}

    def encode_embedded(self, rows: torch.Tensor) -> torch.Tensor:
        """Return the encoder means mu_x [F, T_x] of embedding rows [T_x, C] (differentiable;
        the encoder is single-speaker, as in the official model)."""
        n = torch.tensor([rows.shape[0]], device=self.device)
        return self.model.encoder.forward_embedded(rows[None].to(self.dtype), n)[0][0]

    def prepared_from_mu(self, mel: torch.Tensor, mu: torch.Tensor, spk: torch.Tensor | None,
                         n_phones: int) -> Prepared:
        """Return the Prepared of a mel [F, T] under the aligned prior mean mu [F, T]
        (differentiable in mu)."""
        n = mel.shape[1]
        x0, mask = self._padded(mel), self._frame_mask(n)
        mu_p = torch.nn.functional.pad(mu.to(self.device, self.dtype),
                                       (0, pad_frames(n) - n))
        prior_mean, prior_std = mu_p, 1.0
        if self.prior == "x0_terminal":  # N(a x0 + (1-a) mu, 1 - a^2): the law at t=1 given x0
            a = float(self.schedule.mean_coef(torch.tensor(1.0, dtype=torch.float64)))
            prior_mean = a * x0 + (1 - a) * mu_p
            prior_std = math.sqrt(1 - a * a)
        cond = {"mu": mu_p, "mask": mask}
        if spk is not None:
            cond["spk"] = spk[0]
        return Prepared(x0=x0, mask=mask, prior_mean=prior_mean, prior_std=prior_std,
                        cond=cond, columns={"n_frames": n, "n_phones": n_phones,
                                            "prior": self.prior})

    def _score_beta(self, x: torch.Tensor, t: torch.Tensor, cond: dict):
        spk = cond.get("spk")
        spk_emb = None if spk is None else self.model.embed_speaker(spk)
        score = self.estimator(x, cond["mask"], cond["mu"], t, spk_emb)
        return score, self.schedule.beta(t).to(x.dtype).view(-1, 1, 1)

    def drift(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None) -> torch.Tensor:
        """Return the PF-ODE drift 1/2 beta_t (mu - x - s_theta(x, mu, t, spk)), masked."""
        cond = self._require_cond(cond)
        score, beta = self._score_beta(x, t, cond)
        return pf_ode_drift(beta, x, score, cond["mu"]) * cond["mask"]

    def reverse_sde_drift(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None
                          ) -> torch.Tensor:
        """Return the reverse-time SDE drift 1/2 beta_t (mu - x) - beta_t s_theta, masked."""
        cond = self._require_cond(cond)
        score, beta = self._score_beta(x, t, cond)
        return reverse_sde_drift(beta, x, score, cond["mu"]) * cond["mask"]

    def score(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None) -> torch.Tensor:
        """Return the estimator's score s_theta(x, mu, t, spk), masked ("score" capability)."""
        cond = self._require_cond(cond)
        return self._score_beta(x, t, cond)[0] * cond["mask"]

    def sde_mu(self, cond: dict) -> torch.Tensor:
        """Return the SDE's mean-reversion target: the aligned text prior mu."""
        return self._require_cond(cond)["mu"]

    @torch.no_grad()
    def null_condition(self, cond: dict) -> dict:
        """Return cond with mu of the empty text (the blank's encoder mean on every real frame);
        the speaker is kept. Equals what prepare gives for payload null_condition."""
        from ...text import text_to_ids

        cond = self._require_cond(cond)
        if self._null_mu is None:
            ids = text_to_ids("", self.dictionary)
            x = torch.tensor([ids], dtype=torch.long, device=self.device)
            mu_x, _, _ = self.model.encoder(x, torch.tensor([len(ids)], device=self.device))
            self._null_mu = mu_x[0, :, 0]  # [F]
        mu = self._null_mu.to(cond["mu"].dtype).view(-1, 1) * cond["mask"]
        return {**cond, "mu": mu.expand_as(cond["mu"]).contiguous()}

    @staticmethod
    def _require_cond(cond: dict | None) -> dict:
        if cond is None or "mu" not in cond or "mask" not in cond:
            raise ValueError("Grad-TTS needs cond with 'mu' and 'mask' (the text prior); "
                             f"got {None if cond is None else sorted(cond)}")
        return cond

    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        """Return g(t) = sqrt(beta_t)."""
        return self.schedule.beta(t).sqrt()

    def _padded(self, x: torch.Tensor) -> torch.Tensor:
        """Return a [F, T] tensor zero-padded to a multiple of 4 frames, in the model's dtype."""
        out = torch.zeros(self.cfg.n_feats, pad_frames(x.shape[1]), dtype=self.dtype,
                          device=self.device)
        out[:, :x.shape[1]] = x.to(self.device, self.dtype)
        return out

    def _frame_mask(self, n: int) -> torch.Tensor:
        """Return the [1, T_padded] mask of n real frames."""
        mask = torch.zeros(1, pad_frames(n), dtype=self.dtype, device=self.device)
        mask[:, :n] = 1
        return mask

    @torch.no_grad()
    def sample_prior(self, job: Job, generator: torch.Generator,
                     temperature: float = 1.0) -> Prepared:
        """Return the start of synthesis ("sample" capability): x0 holds x1 = mu + z /
        temperature with mu from the predicted durations of the payload's text (and speaker),
        z drawn from generator on the CPU; cond, mask and n_frames as for scoring."""
        from ...text import text_to_ids
        from .synthesis_prior import predicted_mu

        spk = self.speaker_tensor(job.payload)
        ids = text_to_ids(str(job.payload.get("text", "")), self.dictionary)
        mu = predicted_mu(self.model, ids, spk, self.device, self.dtype)
        n = mu.shape[1]
        mu_p, mask = self._padded(mu), self._frame_mask(n)
        z = torch.randn((1, *mu_p.shape), generator=generator)[0].to(mu_p)
        cond = {"mu": mu_p, "mask": mask} if spk is None else {"mu": mu_p, "mask": mask,
                                                                "spk": spk[0]}
        return Prepared(x0=(mu_p + z / temperature) * mask, mask=mask, cond=cond,
                        columns={"n_frames": n})

    def payload_of(self, x: torch.Tensor, start: Prepared) -> dict:
        """Return the job payload that scores a state x shaped like start.x0 (the real frames
        of the mel, float32 on the CPU)."""
        return {"mel": x[:, :start.columns["n_frames"]].float().cpu()}
