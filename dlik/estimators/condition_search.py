"""How far can the condition move the likelihood: gradient search over a declared condition
space on a differentiable ELBO surrogate, and a greedy word search over real words.

The surrogate is the ELBO of estimators/elbo.py (same terms, same control variate, same
draws: `draws_of(sample_id, seed, ...)`, antithetic pairs, TimeProposal times) kept
differentiable in the condition; its draws are fixed for the whole search, so the search
optimises one deterministic function of the condition (common random numbers). The found
condition is then scored with the exact paired likelihood by the runner (the study does
that), which says whether the surrogate's gain is real.

A `ConditionSpace` declares what the search may reach: a start point z0 (the true
condition), `prepared(z)` (the differentiable Prepared of condition z: x0, mask, cond,
prior), `project(z)` (back into the space: a per-row ball of radius r around z0, or all
of R^n when r is None), and `payload(z)` (the job payload that scores z exactly).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from ..densities import gaussian_logp
from ..models.base import Prepared
from .elbo import TimeProposal, draws_of

DIRECTIONS = ("max", "min")


@dataclass(frozen=True)
class SearchSpec:
    """Gradient steps (Adam, cosine-decayed learning rate), draws of the fixed surrogate (even:
    antithetic pairs), the draws' seed, the time interval and rows per network call."""

    steps: int = 20
    lr: float = 0.05
    draws: int = 8
    seed: int = 0
    t_start: float = 1e-5
    t_end: float = 1.0
    batch_size: int = 16

    def __post_init__(self) -> None:
        if int(self.steps) < 0:
            raise ValueError(f"steps must be an int >= 0, got {self.steps}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite float > 0, got {self.lr}")
        if int(self.draws) < 2 or int(self.draws) % 2:
            raise ValueError(f"draws must be an even int >= 2 (antithetic pairs), got "
                             f"{self.draws}")
        if not self.t_end > self.t_start > 0:
            raise ValueError(f"need 0 < t_start < t_end, got {self.t_start}, {self.t_end}")
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


class ConditionSpace(Protocol):
    """What a search may reach; see the module docstring."""

    name: str
    radius: float | None

    def start(self) -> torch.Tensor:
        """Return z0, the true condition's point (float64)."""

    def prepared(self, z: torch.Tensor) -> Prepared:
        """Return the Prepared of condition z, differentiable in z."""

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """Return z moved into the space (the nearest point of each row's ball)."""

    def contains(self, z: torch.Tensor) -> bool:
        """Return True when z lies in the space."""

    def payload(self, z: torch.Tensor) -> dict[str, Any]:
        """Return the job payload that scores condition z exactly."""


def project_ball(z: torch.Tensor, center: torch.Tensor, radius: float | None) -> torch.Tensor:
    """Return z moved into the ball of `radius` around center, row by row (the last axis is a
    row's coordinates; radius None: z unchanged)."""
    if radius is None:
        return z
    d = z - center
    norm = d.norm(dim=-1, keepdim=True)
    return center + d * torch.clamp(radius / norm.clamp_min(1e-300), max=1.0)


def in_ball(z: torch.Tensor, center: torch.Tensor, radius: float | None, rtol: float = 1e-9
            ) -> bool:
    """Return True when every row of z lies within radius of center's (None: always)."""
    if radius is None:
        return bool(torch.isfinite(z).all())
    return bool(((z - center).norm(dim=-1) <= radius * (1 + rtol)).all())


def _batched(cond: dict, n: int) -> dict:
    return {k: v[None].expand(n, *v.shape) for k, v in cond.items()}


def surrogate_elbo(adapter, prep: Prepared, t: torch.Tensor, eps: torch.Tensor,
                   proposal, spec: SearchSpec) -> torch.Tensor:
    """Return the ELBO estimate (nats, float64 scalar, differentiable in prep's tensors) of
    one prepared condition on the given draws: estimators/elbo.py's terms, kept in autograd
    (flow models: _flow_surrogate)."""
    if surrogate_kind(adapter) == "flow":
        return _flow_surrogate(adapter, prep, t, eps, proposal, spec)
    sch = adapter.schedule
    x0 = prep.x0.double()
    mask = (torch.ones_like(x0) if prep.mask is None
            else prep.mask.double().expand_as(x0))
    mu = torch.as_tensor(adapter.sde_mu(_batched(prep.cond, 1)), dtype=torch.float64)
    mu = mu.expand(1, *x0.shape)[0] if mu.dim() else mu.expand_as(x0)
    t_end = torch.tensor(spec.t_end, dtype=torch.float64)
    a_end, var_end = sch.mean_coef(t_end), sch.var(t_end)
    pm = torch.as_tensor(prep.prior_mean, dtype=torch.float64).expand_as(x0)
    ps = torch.as_tensor(prep.prior_std, dtype=torch.float64).expand_as(x0)
    mean_end = a_end * x0 + (1 - a_end) * mu
    e_log_pi = (gaussian_logp(mean_end[None], pm[None], ps[None], mask[None])[0]
                - 0.5 * ((var_end / ps ** 2) * mask).sum())
    a2 = sch.mean_coef(t_end) ** 2 - sch.mean_coef(torch.tensor(spec.t_start,
                                                                dtype=torch.float64)) ** 2
    const = e_log_pi - 0.5 * mask.sum() * a2
    losses = []
    dtype = prep.x0.dtype
    for lo in range(0, len(t), spec.batch_size):
        tt, e = t[lo:lo + spec.batch_size], eps[lo:lo + spec.batch_size].to(x0.device)
        shape = (-1, *([1] * x0.dim()))
        a = sch.mean_coef(tt).view(shape).to(x0.device)
        sigma = sch.var(tt).sqrt().view(shape).to(x0.device)
        xt = (a * x0 + (1 - a) * mu + sigma * e) * mask
        cond = _batched(prep.cond, len(tt))
        s = adapter.score(xt.to(dtype), tt.to(x0.device, dtype), cond).double()
        em = e * mask
        losses.append(((em + sigma * s * mask) ** 2 - a ** 4 * em * em).flatten(1).sum(1))
    loss = torch.cat(losses)
    return (const - 0.5 * proposal.weight(t).to(loss.device) * loss).mean()


@dataclass
class SearchResult:
    """The best point seen (in the space), its surrogate value, the start's, the trace of
    surrogate values per step, network evaluations (forward+backward rows) and wall seconds."""

    z: torch.Tensor
    value: float
    start_value: float
    trace: list[float] = field(default_factory=list)
    evaluations: int = 0
    wall_s: float = 0.0

    @property
    def gain(self) -> float:
        """Return the surrogate's change from the start to the found point (nats)."""
        return self.value - self.start_value


class LogUniformTimes:
    """Times of the flow surrogate: t = t_s^(1 - u) (density 1 / (t ln(1/t_s)) on [t_s, 1]), so
    the ELBO weight (1 - t) / t of the velocity loss becomes (1 - t) ln(1/t_s)."""

    def __init__(self, t_start: float) -> None:
        self.t_start, self.log_range = t_start, -math.log(t_start)

    def quantile(self, u: torch.Tensor) -> torch.Tensor:
        """Return t with Q(t) = u."""
        return self.t_start ** (1 - u.double())

    def weight(self, t: torch.Tensor) -> torch.Tensor:
        """Return ((1 - t) / t) / q(t)."""
        return (1 - t) * self.log_range


def surrogate_kind(adapter) -> str:
    """Return 'vp' (the adapter has the 'score' capability: the ELBO of estimators/elbo.py)
    or 'flow' (a rectified-flow velocity model, x_t = (1 - t) x0 + t eps: the ELBO's
    condition-dependent part, -E (1 - t) / t ||v - (eps - x0)||^2, Kingma & Gao 2023)."""
    if "score" in adapter.capabilities:
        return "vp"
    from ..models.sd3.adapter import FlowNoise

    if isinstance(getattr(adapter, "noise", None), FlowNoise):
        return "flow"
    raise ValueError(f"{adapter.model_id} has neither the 'score' capability (VP) nor a flow "
                     "noise process: the condition search needs one of them")


def fixed_draws(space: ConditionSpace, sample_id: str, spec: SearchSpec, adapter):
    """Return the search's fixed (t, eps, proposal): the ELBO ranker's first `draws` draws
    (VP), or the same golden-ratio and eps seeds on log-uniform times (flow)."""
    if surrogate_kind(adapter) == "vp":
        proposal = TimeProposal(adapter.schedule, spec.t_start, spec.t_end)
    else:
        proposal = LogUniformTimes(spec.t_start)
    shape = space.prepared(space.start()).x0.shape
    t, eps = draws_of(sample_id, spec.seed, range(int(spec.draws)), shape, proposal)
    return t, eps, proposal


def _flow_surrogate(adapter, prep: Prepared, t, eps, proposal, spec) -> torch.Tensor:
    """Return -mean over draws of weight(t) ||v(x_t, t | c) - (eps - x0)||^2 (nats, up to a
    condition-independent constant), differentiable in prep's tensors."""
    x0 = prep.x0.double()
    out = []
    for lo in range(0, len(t), spec.batch_size):
        tt, e = t[lo:lo + spec.batch_size], eps[lo:lo + spec.batch_size].to(x0.device)
        tv = tt.view(-1, *([1] * x0.dim())).to(x0.device)
        xt = (1 - tv) * x0 + tv * e
        v = adapter.drift(xt.to(prep.x0.dtype), tt.to(x0.device, prep.x0.dtype),
                          _batched(prep.cond, len(tt))).double()
        out.append(((v - (e - x0)) ** 2).flatten(1).sum(1))
    return -(proposal.weight(t).to(x0.device) * torch.cat(out)).mean()


def search_condition(adapter, space: ConditionSpace, sample_id: str, spec: SearchSpec,
                     direction: str = "max") -> SearchResult:
    """Return the point of `space` with the highest (direction max) or lowest (min) surrogate
    ELBO seen in spec.steps projected Adam steps from the true condition, on fixed draws."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {list(DIRECTIONS)}, got {direction!r}")
    if direction == "min" and space.radius is None:
        raise ValueError(f"minimising over {space.name} needs a bounded space: set a radius "
                         "(the likelihood of an unbounded condition can fall without limit)")
    began = time.perf_counter()
    t, eps, proposal = fixed_draws(space, sample_id, spec, adapter)
    sign = 1.0 if direction == "max" else -1.0
    z0 = space.start().detach()
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=spec.lr)
    steps = int(spec.steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * k / max(steps, 1))))
    best_z, best, start_value, trace = z0.clone(), -math.inf, None, []
    for _ in range(steps + 1):
        opt.zero_grad()
        value = surrogate_elbo(adapter, space.prepared(z), t, eps, proposal, spec)
        v = float(value.detach())
        trace.append(v)
        if start_value is None:
            start_value = v
        if sign * v > best:
            best, best_z = sign * v, z.detach().clone()
        if len(trace) > steps:
            break
        (-sign * value).backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            z.copy_(space.project(z))
    return SearchResult(best_z, sign * best, float(start_value), trace,
                        evaluations=len(trace) * int(spec.draws),
                        wall_s=time.perf_counter() - began)


def surrogate_of_payloads(adapter, base_job, payloads: list[dict], space: ConditionSpace,
                          sample_id: str, spec: SearchSpec) -> list[float]:
    """Return the surrogate ELBO of each payload merged over base_job's (prepared by the
    adapter, no gradients), on the search's fixed draws: text conditions, comparable with
    search_condition's values."""
    from ..models.base import Job

    t, eps, proposal = fixed_draws(space, sample_id, spec, adapter)
    out = []
    with torch.no_grad():
        for p in payloads:
            job = Job(base_job.sample_id, base_job.condition_id, {}, {**base_job.payload, **p},
                      input=base_job.input)
            out.append(float(surrogate_elbo(adapter, adapter.prepare(job), t, eps, proposal,
                                            spec)))
    return out


def greedy_words(adapter, base_job, words: list[str], vocabulary: list[str], key: str,
                 space: ConditionSpace, sample_id: str, spec: SearchSpec,
                 direction: str = "max", passes: int = 1) -> tuple[list[str], float, float, int]:
    """Return (words, surrogate, start surrogate, evaluations) of a greedy substitution search:
    each position in turn takes the vocabulary word that moves the surrogate most in
    `direction` (kept only when it improves), for `passes` sweeps; payload key `key` holds
    the text."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {list(DIRECTIONS)}, got {direction!r}")
    if not words or not vocabulary:
        raise ValueError("the word search needs a non-empty text and vocabulary")
    sign = 1.0 if direction == "max" else -1.0
    current = list(words)
    (best,) = surrogate_of_payloads(adapter, base_job, [{key: " ".join(current)}], space,
                                    sample_id, spec)
    start, evals = best, 1
    for _ in range(int(passes)):
        for i in range(len(current)):
            cands = [w for w in vocabulary if w != current[i]]
            texts = [" ".join(current[:i] + [w] + current[i + 1:]) for w in cands]
            vals = surrogate_of_payloads(adapter, base_job, [{key: x} for x in texts], space,
                                         sample_id, spec)
            evals += len(vals)
            k = max(range(len(vals)), key=lambda j: sign * vals[j])
            if sign * vals[k] > sign * best:
                best, current[i] = vals[k], cands[k]
    return current, best, start, evals * int(spec.draws)
