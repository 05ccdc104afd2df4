"""Analytic model: Gaussian data under a mean-reverting VP SDE, exact score and likelihood."""

from __future__ import annotations

import hashlib
import math

import torch

from ..densities import gaussian_logp
from ..seeding import stable_int
from .base import Job, Prepared
from .schedules import LinearBetaSchedule, pf_ode_drift


class AnalyticGaussianSDE:
    """data ~ N(m, diag s^2), dX = 1/2 beta_t (mu - X) dt + sqrt(beta_t) dW; m, s, mu per row."""

    def __init__(self, schedule: LinearBetaSchedule | None = None) -> None:
        self.schedule = schedule or LinearBetaSchedule()

    def _coefs(self, t: torch.Tensor, like: torch.Tensor):
        t = t.to(torch.float64).view(-1, *([1] * (like.dim() - 1)))
        return t, self.schedule.mean_coef(t)

    def marginal(self, t: torch.Tensor, m, s, mu) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (mean, var) of x_t: a m + (1 - a) mu and a^2 s^2 + 1 - a^2, a = e^{-B/2}."""
        _, a = self._coefs(t, m)
        return a * m + (1 - a) * mu, a * a * s * s + 1 - a * a

    def score(self, x: torch.Tensor, t: torch.Tensor, m, s, mu) -> torch.Tensor:
        """Return the exact score -(x - mean_t) / var_t."""
        mean, var = self.marginal(t, m, s, mu)
        return (-(x - mean) / var).to(x.dtype)

    def drift(self, x: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
        """Return the PF-ODE drift 1/2 beta_t (mu - x - score)."""
        m, s, mu = cond["m"], cond["s"], cond["mu"]
        tt, _ = self._coefs(t, x)
        beta = self.schedule.beta(tt)
        return pf_ode_drift(beta, x, self.score(x, t, m, s, mu), mu).to(x.dtype)

    def exact_logp(self, x0: torch.Tensor, m, s, mask=None) -> torch.Tensor:
        """Return the closed-form log N(x0; m, s^2) per row over masked dims (float64)."""
        mask = torch.ones_like(x0) if mask is None else mask
        return gaussian_logp(x0, m, s, mask)


class GaussianAdapter:
    """Adapter for the sanity study: each sample draws its own (m, s, mu) and x0 from a seed.

    With cond_scale = tau > 0 the model is conditional: condition k has mean m + c_k, c_k ~
    N(0, tau^2 I) drawn from (sample_id, k), data x | k ~ N(m + c_k, s^2), and x0 is drawn under
    condition `true_condition`. Its null condition is the marginal over c: N(m, s^2 + tau^2),
    so log p(x | k) - log p(x | null) has a closed form. The condition is the payload's
    `condition` (default: the job's condition_id); payload `null_condition: True` is the null.

    With cond_dim = k > 0 as well, the condition is a vector c in R^k and the mean is linear in
    it: x | c ~ N(m + W c, s^2), W (dim x k) = tau Z / sqrt(k), Z ~ N(0, I) from the model
    settings; condition k names c_k ~ N(0, I_k) from (sample_id, k), payload
    `condition_vector` gives c directly, and the null condition is c = 0 (N(m, s^2)). The best
    condition is then the weighted least-squares fit c* = (W' S^-2 W)^-1 W' S^-2 (x - m)
    (`optimal_condition`), the closed form the headroom search is tested against.
    """

    capabilities: frozenset[str] = frozenset({"null_condition", "score"})
    input_kind = "vector"
    columns: tuple[str, ...] = ("exact_logp_nats", "exact_bpd", "target_logp_nats",
                                "target_bpd", "prior")

    def __init__(self, dim: int = 16, beta_min: float = 0.05, beta_max: float = 20.0,
                 mu_scale: float = 2.0, prior: str = "terminal", dtype: str = "float64",
                 device: str = "cpu", cond_scale: float = 0.0,
                 true_condition: str = "own", cond_dim: int = 0,
                 covariance: str = "diagonal") -> None:
        if prior not in ("terminal", "standard"):
            raise ValueError(f"prior must be one of ['terminal', 'standard'], got {prior!r}")
        if covariance not in ("diagonal", "full"):
            raise ValueError(f"covariance must be one of ['diagonal', 'full'], got "
                             f"{covariance!r}")
        if covariance == "full" and prior != "standard":
            raise ValueError("covariance=full needs prior=standard (the exact terminal law is "
                             "not diagonal in x, and the engine's prior is)")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be one of ['float32', 'float64'], got {dtype!r}")
        if not (math.isfinite(cond_scale) and cond_scale >= 0):
            raise ValueError(f"cond_scale must be a finite float >= 0, got {cond_scale!r}")
        if int(cond_dim) < 0 or (cond_dim and not cond_scale):
            raise ValueError(f"cond_dim must be an int >= 0, and > 0 only with cond_scale > 0; "
                             f"got cond_dim={cond_dim!r}, cond_scale={cond_scale!r}")
        self.dim, self.mu_scale, self.prior = int(dim), float(mu_scale), prior
        self.cond_dim = int(cond_dim)
        self.cond_scale, self.true_condition = float(cond_scale), str(true_condition)
        self.sde = AnalyticGaussianSDE(LinearBetaSchedule(beta_min, beta_max))
        self.schedule = self.sde.schedule
        self.dtype = getattr(torch, dtype)
        self.device = torch.device(device)
        self.model_id = f"analytic_gaussian(dim={dim},beta={beta_min}-{beta_max})"
        if self.cond_scale:
            self.model_id = self.model_id[:-1] + f",cond_scale={cond_scale:g})"
        # covariance=full: data N(R m, R diag(s^2) R^T) for a seeded random rotation R; the
        # drift's Jacobian is then not diagonal, so Hutchinson probes carry noise
        self.rotation = None
        if covariance == "full":
            self.model_id = self.model_id[:-1] + ",covariance=full)"
            g = torch.Generator().manual_seed(stable_int("rotation", self.dim, bits=48))
            q, r = torch.linalg.qr(torch.randn(self.dim, self.dim, generator=g,
                                               dtype=torch.float64))
            self.rotation = q * torch.sign(torch.diagonal(r))
        if self.cond_dim:
            self.model_id = self.model_id[:-1] + f",cond_dim={self.cond_dim})"
            g = torch.Generator().manual_seed(stable_int(self.model_id, "W", bits=48))
            self.weight = (self.cond_scale / math.sqrt(self.cond_dim)) * torch.randn(
                self.dim, self.cond_dim, generator=g, dtype=torch.float64)
        self.t_end = 1.0

    def weights_hash(self) -> str:
        """Return a hash of the model settings (the model has no weights)."""
        return hashlib.sha256(self.model_id.encode()).hexdigest()[:16]

    def condition_mean(self, sample_id: str, condition: str) -> torch.Tensor:
        """Return c_k = tau z, z ~ N(0, I) from sha256(sample_id, condition) (zeros if tau = 0)."""
        if not self.cond_scale:
            return torch.zeros(self.dim, dtype=torch.float64)
        g = torch.Generator().manual_seed(stable_int(sample_id, "condition", condition, bits=48))
        if self.cond_dim:
            return self.weight @ torch.randn(self.cond_dim, generator=g, dtype=torch.float64)
        return self.cond_scale * torch.randn(self.dim, generator=g, dtype=torch.float64)

    def condition_vector(self, sample_id: str, condition: str) -> torch.Tensor:
        """Return the vector c_k of a named condition (linear model, cond_dim > 0)."""
        self._require_linear()
        g = torch.Generator().manual_seed(stable_int(sample_id, "condition", condition, bits=48))
        return torch.randn(self.cond_dim, generator=g, dtype=torch.float64)

    def optimal_condition(self, x0: torch.Tensor, m: torch.Tensor, s: torch.Tensor
                          ) -> torch.Tensor:
        """Return argmax_c log N(x0; m + W c, s^2) = (W' S^-2 W)^-1 W' S^-2 (x0 - m)."""
        self._require_linear()
        w = self.weight / s.double()[:, None]
        return torch.linalg.solve(w.T @ w, w.T @ ((x0.double() - m.double()) / s.double()))

    def _require_linear(self) -> None:
        if not self.cond_dim:
            raise ValueError("condition vectors need the linear conditional model: set "
                             "cond_dim > 0 (and cond_scale > 0)")

    def prepare(self, job: Job) -> Prepared:
        """Return x0 ~ N(m + c_true, s^2) with per-sample (m, s, mu) from the sample's seed, and
        the mean and std of the job's condition (or of the null condition) in cond."""
        seed = stable_int(job.sample_id, bits=48)
        g = torch.Generator().manual_seed(seed)
        d = self.dim
        m = torch.randn(d, generator=g, dtype=torch.float64)
        s = 0.2 + 1.3 * torch.rand(d, generator=g, dtype=torch.float64)
        mu = self.mu_scale * torch.randn(d, generator=g, dtype=torch.float64)
        x0 = m + s * torch.randn(d, generator=g, dtype=torch.float64)
        null = {}
        if self.cond_dim:
            x0 = x0 + self.condition_mean(job.sample_id, self.true_condition)
            null = {"m_null": m, "s_null": s}
            if "condition_vector" in job.payload:
                c = torch.as_tensor(job.payload["condition_vector"], dtype=torch.float64)
                if c.shape != (self.cond_dim,) or not torch.isfinite(c).all():
                    raise ValueError(f"condition_vector must be {self.cond_dim} finite floats, "
                                     f"got shape {tuple(c.shape)}")
                m = m + self.weight @ c
            elif not job.payload.get("null_condition"):
                m = m + self.condition_mean(job.sample_id,
                                            str(job.payload.get("condition", job.condition_id)))
        elif self.cond_scale:
            x0 = x0 + self.condition_mean(job.sample_id, self.true_condition)
            null = {"m_null": m, "s_null": torch.sqrt(s * s + self.cond_scale ** 2)}
            if job.payload.get("null_condition"):
                s = null["s_null"]
            else:
                m = m + self.condition_mean(job.sample_id,
                                            str(job.payload.get("condition", job.condition_id)))
        if "x0" in job.payload:
            x0 = torch.as_tensor(job.payload["x0"], dtype=torch.float64)
            if x0.shape != (d,):
                raise ValueError(f"x0 must have shape ({d},), got {tuple(x0.shape)}")
        if not torch.isfinite(x0).all():
            raise ValueError(f"sample {job.sample_id!r} has non-finite values")
        t1 = torch.tensor([self.t_end], dtype=torch.float64)
        if self.prior == "terminal":
            mean1, var1 = self.sde.marginal(t1, m[None], s[None], mu[None])
            prior_mean, prior_std = mean1[0], var1[0].sqrt()
        else:
            prior_mean, prior_std = mu, torch.ones(d, dtype=torch.float64)
        exact = float(self.sde.exact_logp(x0[None], m[None], s[None])[0])
        target = self._target_logp(x0, m, s, mu, t1, prior_mean, prior_std)
        if self.rotation is not None:  # x = R u: the eigenbasis values above are u's
            x0, prior_mean = self.rotation @ x0, self.rotation @ prior_mean
        dev, dt = self.device, self.dtype
        return Prepared(
            x0=x0.to(dev, dt), prior_mean=prior_mean.to(dev), prior_std=prior_std.to(dev),
            cond={"m": m.to(dev, dt), "s": s.to(dev, dt), "mu": mu.to(dev, dt),
                  **{k: v.to(dev, dt) for k, v in null.items()}},
            columns={"exact_logp_nats": exact, "exact_bpd": -exact / (d * math.log(2)),
                     "target_logp_nats": target, "target_bpd": -target / (d * math.log(2)),
                     "prior": self.prior},
        )

    def _target_logp(self, u0, m, s, mu, t1, prior_mean, prior_std) -> float:
        """Return what an exact solve returns under this prior (closed form): the PF-ODE maps
        each eigen-coordinate affinely, u1 = mean_1 + sd_1 / s (u0 - m), so the divergence
        integral is sum log(sd_1 / s) and the prior term log N(u1; prior). Equals the exact
        log-density under prior=terminal (the data's own law at t = 1)."""
        mean1, var1 = self.sde.marginal(t1, m[None], s[None], mu[None])
        sd1 = var1[0].sqrt()
        u1 = mean1[0] + sd1 / s * (u0 - m)
        return float(gaussian_logp(u1[None], prior_mean[None], prior_std[None],
                                   torch.ones_like(u1[None]))[0]
                     + torch.log(sd1 / s).sum())

    def _rotate(self, fn, x: torch.Tensor, *args) -> torch.Tensor:
        """Return R fn(R^T x, ...) (fn itself without a rotation), rows of x as vectors."""
        if self.rotation is None:
            return fn(x, *args)
        r = self.rotation.to(x.device, x.dtype)
        return fn(x @ r, *args) @ r.T

    def drift(self, x: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
        """Return the exact PF-ODE drift."""
        return self._rotate(self.sde.drift, x, t, cond)

    def score(self, x: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
        """Return the exact score of x_t given the condition ("score" capability)."""
        return self._rotate(lambda u: self.sde.score(u, t, cond["m"], cond["s"], cond["mu"]), x)

    def sde_mu(self, cond: dict) -> torch.Tensor:
        """Return the SDE's mean-reversion target mu (batched like x)."""
        mu = cond["mu"]
        return mu if self.rotation is None else mu @ self.rotation.to(mu.device, mu.dtype).T

    def null_condition(self, cond: dict) -> dict:
        """Return cond with the null condition's mean and std (m, sqrt(s^2 + tau^2); the linear
        model: c = 0, i.e. (m, s)); cond itself when tau = 0 (its own null)."""
        if "m_null" not in cond:
            return cond
        return {**cond, "m": cond["m_null"], "s": cond["s_null"]}
