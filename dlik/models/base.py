"""What the runner needs from a model adapter: prepare a job into tensors, and a drift."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any, Protocol

import torch


@dataclass
class Job:
    """One likelihood to compute: keys and variant columns go to the CSV, payload does not."""

    sample_id: str
    condition_id: str
    columns: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    stage: Callable[[], tuple[dict[str, Any], dict[str, Any]]] | None = None
    """Deferred heavy work (synthesis, vocoding, ASR): the runner calls it only for jobs that
    survive the resume/shard filter, just before `prepare`; it returns (payload, columns)
    merged over the job's own. Listing jobs stays cheap."""
    input: str | None = None
    """Which input of the sample this row scores, when a sample has several (an image and its
    reconstruction, a clean and a noisy wave): rows of one input replay one step sequence.
    None: the sample has one input (its conditions differ, its x0 does not)."""

    @property
    def input_id(self) -> str:
        """Return the step-sharing group of the row: (sample_id, input) or the sample_id."""
        return str(self.sample_id) if self.input is None else f"{self.sample_id}/{self.input}"

    def staged(self) -> Job:
        """Return the job with its deferred stage run and merged in (itself when it has none)."""
        if self.stage is None:
            return self
        payload, columns = self.stage()
        return Job(self.sample_id, self.condition_id, {**self.columns, **columns},
                   {**self.payload, **payload}, input=self.input)

    @property
    def key(self) -> tuple[str, str]:
        """Return (sample_id, condition_id), the row's identity in the CSV."""
        return (str(self.sample_id), str(self.condition_id))


@dataclass
class Prepared:
    """Unbatched tensors for one job; rows with equal bucket keys can share a batch."""

    x0: torch.Tensor
    mask: torch.Tensor | None = None
    prior_mean: torch.Tensor | float = 0.0
    prior_std: torch.Tensor | float = 1.0
    cond: dict[str, torch.Tensor] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)
    bpd_dims: dict[str, int] = field(default_factory=dict)
    """Other normalisations of the same log-density: column -> dims; the runner writes
    -logp_nats / (ln 2 * dims) there (e.g. SDXL's latent_bits_per_pixel_dim over 3 H W)."""

    @property
    def bucket_key(self) -> tuple:
        """Return the shape/dtype key: only equal keys may be batched together."""
        return (tuple(self.x0.shape), self.x0.dtype)


CAPABILITIES = ("image", "null_condition", "sample", "score")
"""What an adapter may declare beyond scoring (checked with `require`):
- image: a latent image model (SDXL): `image_size` (H, W) of the images it scores;
  `latent_of(payload, sample_id) -> (latent, original (H, W))` encodes a payload's image;
  `decode(latent) -> PIL image`; `prompt_cond(prompt, guidance_scale, original_hw)` is the
  unbatched cond of a prompt (None = the null prompt) at a guidance scale (diffusers'
  convention, models/guidance.py); `t_min` is the first trained time and
  `check_t_start(t)` returns t or raises below it. Images are read and fitted to
  image_size with dlik.data.images.
- null_condition: `null_condition(cond)` returns the condition of "no condition" (empty
  text / zero speaker / zero prompt embedding), shaped like cond, for pmi and CFG; a job whose
  payload has `null_condition: True` is prepared under that condition (the pmi null rows).
- score: `score(x, t, cond)` returns the model's score of x_t; `schedule` (schedules.py: beta,
  integral, mean_coef, var) and `sde_mu(cond)` (the mean-reversion target mu, batched like x, or
  0.0) give the forward VP SDE x_t = a x0 + (1 - a) mu + sigma eps, for ELBO estimators.
- sample: `sample_prior(job, generator, temperature=1.0) -> Prepared` gives the start of
  generation (x1 in the x0 slot, with cond and mask, unbatched); `payload_of(x, start)`
  turns a state shaped like start.x0 into a job payload that `prepare` scores;
  `reverse_sde_drift(x, t, cond)` and `diffusion(t)` give the reverse SDE. The engine
  integrates (engine.transport.ode_path / sde_path), never the adapter."""


INPUT_KINDS = ("image", "mel", "vector")


class Adapter(Protocol):
    """A model seen by the runner: turns jobs into tensors and evaluates the PF-ODE drift.

    Calling convention, for every adapter: `drift(x, t, cond)` with x batched [B, ...],
    t a float [B] tensor, and cond a dict of tensors batched like x, or None for a model
    that takes no condition. Optional capabilities are listed in `capabilities` (a subset
    of CAPABILITIES) and checked with `require`, never found by getattr.
    """

    model_id: str
    device: torch.device
    capabilities: frozenset[str]
    input_kind: str
    """What a sample is (one of INPUT_KINDS): 'image' (payload image / image_path), 'mel'
    (audio: wave / audio_path / mel), 'vector' (x0); the Python API maps user inputs by it."""
    columns: tuple[str, ...]
    """The per-row columns `prepare` emits (Prepared.columns and bpd_dims keys); the CSV
    header includes them after the measures, so studies never list a model's columns."""

    def weights_hash(self) -> str:
        """Return a short hash of the weights and model settings."""

    def prepare(self, job: Job) -> Prepared:
        """Return the tensors of one job (raise on a bad sample: the runner logs an error row)."""

    def drift(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None) -> torch.Tensor:
        """Return the probability-flow drift f(x, t | cond), shaped like x."""


def require(adapter: Adapter, capability: str) -> Adapter:
    """Return adapter if it declares capability, else raise naming what it declares."""
    if capability not in CAPABILITIES:
        raise ValueError(f"capability must be one of {list(CAPABILITIES)}, got {capability!r}")
    have = adapter.capabilities
    if capability not in have:
        raise ValueError(f"{adapter.model_id} does not support {capability!r} "
                         f"(it declares {sorted(have)}); pick a model that does")
    return adapter
