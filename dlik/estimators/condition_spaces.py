"""Condition spaces a search may reach (estimators/condition_search.py), one per model kind.

- `condition_vector` (analytic Gaussian, cond_dim > 0): c in R^k, mean m + W c; all of R^k
  (radius None) or a ball around the true c.
- `phoneme_embedding` (Grad-TTS): the text encoder's input, one embedding row per token of
  the true text (blanks included), the durations fixed to the true text's alignment; each
  row within `radius` x (median norm of the embedding table's rows) of its true row.
- `encoder_output` (Grad-TTS): the encoder's per-token means mu_x [T_x, F] on the same
  alignment, each row within radius x (median norm of the true rows) of its own. A
  piecewise-constant prior mean: it cannot vary inside a phone, so mu = x is out of reach.
- `prompt_embedding` (SDXL family): the text encoders' output, prompt_embeds [L, D] rows and
  the pooled vector [P], each within radius x (median true row norm) of its own (a
  textual-inversion-style search over every token slot at once).

`build_space(name, adapter, job, radius)` builds one from the true condition's job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..models.base import Job, Prepared
from .condition_search import in_ball, project_ball


class GaussianVectorSpace:
    """c in R^k of the linear conditional Gaussian (models/gaussian.py, cond_dim > 0)."""

    name = "condition_vector"

    def __init__(self, adapter, job: Job, radius: float | None = None) -> None:
        adapter._require_linear()
        self.adapter, self.radius = adapter, radius
        self.base = adapter.prepare(job)
        cond = job.payload.get("condition", job.condition_id)
        self.c0 = (torch.as_tensor(job.payload["condition_vector"], dtype=torch.float64)
                   if "condition_vector" in job.payload
                   else adapter.condition_vector(job.sample_id, str(cond)))

    def start(self) -> torch.Tensor:
        """Return the true condition's vector."""
        return self.c0.clone()

    def prepared(self, z: torch.Tensor) -> Prepared:
        """Return the Prepared of mean m + W z (differentiable in z)."""
        ad, b = self.adapter, self.base
        m = b.cond["m_null"].double() + ad.weight @ z
        cond = {**b.cond, "m": m.to(b.x0.dtype)}
        prior_mean = b.prior_mean
        if ad.prior == "terminal":
            t1 = torch.tensor([ad.t_end], dtype=torch.float64)
            prior_mean = ad.sde.marginal(t1, m[None], b.cond["s"].double()[None],
                                         b.cond["mu"].double()[None])[0][0]
        return Prepared(x0=b.x0, mask=b.mask, prior_mean=prior_mean, prior_std=b.prior_std,
                        cond=cond, columns=b.columns)

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """Return z in the ball around c0 (unchanged when radius is None)."""
        return project_ball(z, self.c0, self.radius)

    def contains(self, z: torch.Tensor) -> bool:
        """Return True when z lies in the space."""
        return in_ball(z, self.c0, self.radius)

    def payload(self, z: torch.Tensor) -> dict[str, Any]:
        """Return the payload that scores c = z exactly."""
        return {"condition_vector": z.detach().double().cpu()}


class _RowBallSpace:
    """A tensor of rows, each within radius x scale of its true row; subclasses say how rows
    become a Prepared and a payload."""

    name = ""

    def _setup(self, z0: torch.Tensor, scale: float, radius: float | None) -> None:
        self.z0 = z0.detach().double()
        self.radius = None if radius is None else float(radius) * float(scale)

    def start(self) -> torch.Tensor:
        """Return the true condition's rows."""
        return self.z0.clone()

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """Return z with each row in its ball."""
        return project_ball(z, self.z0, self.radius)

    def contains(self, z: torch.Tensor) -> bool:
        """Return True when every row lies in its ball."""
        return in_ball(z, self.z0, self.radius)


class GradTTSTokenSpace(_RowBallSpace):
    """Grad-TTS: phoneme embeddings (encoder input) or encoder means, per token of the true
    text, on the true text's alignment."""

    def __init__(self, adapter, job: Job, radius: float | None = 1.0,
                 where: str = "phoneme_embedding") -> None:
        if where not in ("phoneme_embedding", "encoder_output"):
            raise ValueError("where must be one of ['phoneme_embedding', 'encoder_output'], "
                             f"got {where!r}")
        self.adapter, self.name, self.job = adapter, where, job
        self.parts = adapter.text_parts(job.payload)
        with torch.no_grad():
            emb = self.parts["embedding"]
            if where == "phoneme_embedding":
                table = adapter.model.encoder.emb.weight.double()
                self._setup(emb, table.norm(dim=1).median(), radius)
            else:
                mu_x = adapter.encode_embedded(emb).T  # [T_x, F]
                self._setup(mu_x, mu_x.norm(dim=1).median(), radius)

    def _mu_x(self, z: torch.Tensor) -> torch.Tensor:
        if self.name == "phoneme_embedding":
            return self.adapter.encode_embedded(z)
        return z.T

    def prepared(self, z: torch.Tensor) -> Prepared:
        """Return the Prepared of token rows z (differentiable in z)."""
        p = self.parts
        mu = self._mu_x(z).to(self.adapter.dtype) @ p["path"]
        return self.adapter.prepared_from_mu(p["mel"], mu, p["spk"], p["n_phones"])

    def payload(self, z: torch.Tensor) -> dict[str, Any]:
        """Return the payload that scores rows z exactly (on the true text's alignment)."""
        return {self.name: z.detach().float().cpu()}


class PromptEmbeddingSpace:
    """SDXL family: prompt_embeds rows and the pooled vector, flattened into one vector."""

    name = "prompt_embedding"

    def __init__(self, adapter, job: Job, radius: float | None = 1.0) -> None:
        self.adapter, self.job = adapter, job
        self.base = adapter.prepare(job)
        pe, pooled = self.base.cond["prompt_embeds"].double(), self.base.cond["pooled"].double()
        self.shape = tuple(pe.shape)
        self.z0 = torch.cat([pe.flatten(), pooled])
        self.scale = (pe.norm(dim=1).median(), pooled.norm())
        self.radius = radius

    def _split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = self.shape[0] * self.shape[1]
        return z[:n].view(self.shape), z[n:]

    def start(self) -> torch.Tensor:
        """Return the true prompt's embeddings, flattened."""
        return self.z0.clone()

    def prepared(self, z: torch.Tensor) -> Prepared:
        """Return the Prepared of embeddings z (differentiable in z)."""
        pe, pooled = self._split(z)
        b = self.base
        dt = b.cond["prompt_embeds"].dtype
        cond = {**b.cond, "prompt_embeds": pe.to(dt), "pooled": pooled.to(dt)}
        return Prepared(x0=b.x0, mask=b.mask, prior_mean=b.prior_mean, prior_std=b.prior_std,
                        cond=cond, columns=b.columns, bpd_dims=b.bpd_dims)

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """Return z with each token row and the pooled vector in its ball."""
        if self.radius is None:
            return z
        pe, pooled = self._split(z)
        pe0, pooled0 = self._split(self.z0)
        r_pe, r_pool = (self.radius * float(s) for s in self.scale)
        return torch.cat([project_ball(pe, pe0, r_pe).flatten(),
                          project_ball(pooled, pooled0, r_pool)])

    def contains(self, z: torch.Tensor) -> bool:
        """Return True when every row and the pooled vector lie in their balls."""
        if self.radius is None:
            return bool(torch.isfinite(z).all())
        pe, pooled = self._split(z)
        pe0, pooled0 = self._split(self.z0)
        r_pe, r_pool = (self.radius * float(s) for s in self.scale)
        return in_ball(pe, pe0, r_pe) and in_ball(pooled, pooled0, r_pool)

    def payload(self, z: torch.Tensor) -> dict[str, Any]:
        """Return the payload that scores embeddings z exactly."""
        pe, pooled = self._split(z.detach().float().cpu())
        return {"prompt_embeds": pe.clone(), "pooled_prompt_embeds": pooled.clone()}


SPACES: dict[str, Callable[..., Any]] = {
    "condition_vector": GaussianVectorSpace,
    "phoneme_embedding": lambda ad, job, radius: GradTTSTokenSpace(ad, job, radius,
                                                                   "phoneme_embedding"),
    "encoder_output": lambda ad, job, radius: GradTTSTokenSpace(ad, job, radius,
                                                                "encoder_output"),
    "prompt_embedding": PromptEmbeddingSpace,
}


def build_space(name: str, adapter, job: Job, radius: float | None):
    """Return the condition space `name` around job's (true) condition."""
    if name not in SPACES:
        raise ValueError(f"space must be one of {sorted(SPACES)}, got {name!r}")
    return SPACES[name](adapter, job, radius)
