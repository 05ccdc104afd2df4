"""ELBO ranker (the Diffusion Classifier idea): Monte-Carlo denoising-loss bounds on log p(x | c)
for one sample's candidate conditions, the same noise (t, eps) for every candidate, and
adaptive pruning of candidates that are clearly worse than the best.

For the VP SDE dX = 1/2 beta (mu - X) dt + sqrt(beta) dW (x_t = a x0 + (1 - a) mu + sigma eps)
the continuous-time bound of Song et al. (2021, Thm. 1) on [t_s, T], with the analytic
expectation of its score-free terms, is

    ELBO = E log pi(x_T) + D/2 [log sigma^2]_{t_s}^T
           - 1/2 int_{t_s}^T beta / sigma^2 E ||eps + sigma s(x_t, t | c)||^2 dt,

D the counted dims, s the model's score. E log pi(x_T) is closed form (pi Gaussian, x_T | x0
Gaussian); the time integral is sampled from TimeProposal (half uniform in log expm1(B), which
follows beta / sigma^2 near t = 0, half uniform in sigma^2, where candidates differ). A control
variate with a known integral, a^4 ||eps||^2 (E = D a^4; int beta / sigma^2 a^4 dt = [a^2 +
log sigma^2]), takes the chi-square noise of ||eps||^2 out of each draw where the data dims
have unit-order spread (then a^2 s^2 / (a^2 s^2 + sigma^2) ~ a^2); it is the same for every
candidate, so the paired differences the ranking uses do not change. With the exact score and
pi = p_T the bound is tight: ELBO = log p(x0 | c) in expectation (the Gaussian oracle tests
this). Draws come in antithetic pairs (one t, eps and -eps); pair i takes u_i = frac(u_0 + i
phi) (phi the golden ratio, u_0 from the sample id) and eps_i from sha256(sample_id, seed, i),
so every candidate sees the same draws and a value never depends on batching or on which
candidates were pruned. Standard errors come from successive differences of the pair means in
t order (the t draws are stratified, so the spread across t is not error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..densities import gaussian_logp
from ..models.base import Prepared
from ..seeding import stable_frac, stable_seed

PHI = (math.sqrt(5) - 1) / 2


@dataclass(frozen=True)
class ElboSpec:
    """Draws per round (their sum is the most any candidate gets), the pruning threshold
    (prune when best - candidate > prune_z standard errors of the paired difference; None = no
    pruning), the time interval, the noise seed and rows per network call."""

    rounds: tuple[int, ...] = (8, 8, 16)
    prune_z: float | None = 3.0
    t_start: float = 1e-5
    t_end: float = 1.0
    seed: int = 0
    batch_size: int = 16

    def __post_init__(self) -> None:
        if not self.rounds or any(int(r) < 2 or int(r) % 2 for r in self.rounds):
            raise ValueError("rounds must be a non-empty list of even ints >= 2 (draws come in "
                             f"antithetic pairs), got {list(self.rounds)}")
        if self.prune_z is not None and not self.prune_z > 0:
            raise ValueError(f"prune_z must be > 0 or None, got {self.prune_z}")
        if not self.t_end > self.t_start > 0:
            raise ValueError(f"need 0 < t_start < t_end, got {self.t_start}, {self.t_end}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")

    @property
    def max_draws(self) -> int:
        """Return the draws a candidate gets when it is never pruned."""
        return int(sum(self.rounds))


@dataclass
class ElboResult:
    """Per candidate: ELBO (nats, float64), its Monte-Carlo standard error, draws used (= its
    network evaluations), counted dims, and the round it was pruned after (None: kept)."""

    elbo: torch.Tensor
    se: torch.Tensor
    draws: torch.Tensor
    n_dims: torch.Tensor
    pruned_after: list[int | None]


class TimeProposal:
    """Density of t on [t_s, T]: q = lam beta / sigma^2 / Z1 + (1 - lam) beta a^2 / Z2, the first
    part uniform in r = log expm1(B) (where the bound's integrand lives near t = 0), the second
    uniform in sigma^2 (where candidates' scores differ, sigma ~ data spread)."""

    def __init__(self, schedule, t_start: float, t_end: float, lam: float = 0.5) -> None:
        self.schedule, self.t_start, self.t_end, self.lam = schedule, t_start, t_end, lam
        ends = torch.tensor([t_start, t_end], dtype=torch.float64)
        self.r0, r1 = self._r(ends).tolist()
        self.v0, v1 = schedule.var(ends).tolist()
        self.z1, self.z2 = r1 - self.r0, v1 - self.v0

    def _r(self, t: torch.Tensor) -> torch.Tensor:
        return torch.log(torch.expm1(self.schedule.integral(t)))

    def cdf(self, t: torch.Tensor) -> torch.Tensor:
        """Return Q(t), the proposal's distribution function."""
        return (self.lam * (self._r(t) - self.r0) / self.z1
                + (1 - self.lam) * (self.schedule.var(t) - self.v0) / self.z2)

    def weight(self, t: torch.Tensor) -> torch.Tensor:
        """Return (beta / sigma^2)(t) / q(t) = 1 / (lam / Z1 + (1 - lam) a^2 sigma^2 / Z2)."""
        a2, var = self.schedule.mean_coef(t) ** 2, self.schedule.var(t)
        return 1.0 / (self.lam / self.z1 + (1 - self.lam) * a2 * var / self.z2)

    def quantile(self, u: torch.Tensor) -> torch.Tensor:
        """Return t with Q(t) = u (bisection in float64)."""
        lo = torch.full_like(u.double(), self.t_start)
        hi = torch.full_like(u.double(), self.t_end)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid) < u
            lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
        return 0.5 * (lo + hi)


def draws_of(sample_id: str, seed: int, index: range, shape, proposal: TimeProposal
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (t (J,), eps (J, *shape) float64) of a sample's draws `index`: draws 2i and 2i+1
    are an antithetic pair (one t, eps and -eps), which cancels the terms odd in eps."""
    u0 = stable_frac("elbo_t", sample_id, seed)
    u = torch.tensor([(u0 + (j // 2) * PHI) % 1.0 for j in index], dtype=torch.float64)
    eps = torch.stack([(1 - 2 * (j % 2)) * torch.randn(
        tuple(shape), dtype=torch.float64,
        generator=torch.Generator().manual_seed(stable_seed("elbo_eps", sample_id, seed, j // 2)))
        for j in index])
    return proposal.quantile(u), eps


def _constant(adapter, prep: Prepared, spec: ElboSpec) -> tuple[float, int]:
    """Return (E log pi(x_T) + D/2 [log sigma^2] - D/2 [a^2 + log sigma^2], D) of one
    candidate, brackets over [t_s, T]: every part of a draw's value but the sampled one."""
    x0 = prep.x0.double()[None]
    m = torch.ones_like(x0) if prep.mask is None else prep.mask.double().expand_as(x0[0])[None]
    cond = {k: v[None] for k, v in prep.cond.items()}
    mu = torch.as_tensor(adapter.sde_mu(cond), dtype=torch.float64).expand_as(x0)
    sch = adapter.schedule
    t_end = torch.tensor(spec.t_end, dtype=torch.float64)
    a, var = sch.mean_coef(t_end), sch.var(t_end)
    mean_t = a * x0 + (1 - a) * mu
    pm = torch.as_tensor(prep.prior_mean, dtype=torch.float64).expand_as(x0)
    ps = torch.as_tensor(prep.prior_std, dtype=torch.float64).expand_as(x0)
    e_log_pi = gaussian_logp(mean_t, pm, ps, m) - 0.5 * ((var / ps**2) * m).flatten(1).sum(1)
    d = int(m.sum().round())
    t_start = torch.tensor(spec.t_start, dtype=torch.float64)
    a2 = float(sch.mean_coef(t_end) ** 2 - sch.mean_coef(t_start) ** 2)
    return float(e_log_pi[0]) - 0.5 * d * a2, d


@torch.no_grad()
def _losses(adapter, preps: list[Prepared], rows: list[tuple[int, int]], t, eps, spec
            ) -> torch.Tensor:
    """Return ||eps + sigma s||^2 - a^4 ||eps||^2 over masked dims (float64), s = s(x_t, t | c),
    for each (candidate, draw) row."""
    sch, out = adapter.schedule, []
    for start in range(0, len(rows), spec.batch_size):
        chunk = rows[start:start + spec.batch_size]
        ci = [c for c, _ in chunk]
        ji = torch.tensor([j for _, j in chunk])
        x0 = torch.stack([preps[c].x0 for c in ci])
        dtype = x0.dtype
        m = torch.stack([torch.ones_like(preps[c].x0) if preps[c].mask is None
                         else preps[c].mask.expand_as(preps[c].x0) for c in ci]).double()
        cond = {k: torch.stack([preps[c].cond[k] for c in ci]) for k in preps[ci[0]].cond}
        mu = torch.as_tensor(adapter.sde_mu(cond), dtype=torch.float64)
        tt = t[ji].to(x0.device)
        shape = (-1, *([1] * (x0.dim() - 1)))
        a = sch.mean_coef(tt).view(shape)
        sigma = sch.var(tt).sqrt().view(shape)
        e = eps[ji].to(x0.device)
        xt = (a * x0.double() + (1 - a) * mu + sigma * e) * m
        s = adapter.score(xt.to(dtype), tt.to(dtype), cond).double()
        em = e * m
        out.append(((em + sigma * s * m) ** 2 - a ** 4 * em * em).flatten(1).sum(1))
    return torch.cat(out)


def candidate_elbo(adapter, preps: list[Prepared], sample_id: str, spec: ElboSpec | None = None
                   ) -> ElboResult:
    """Return per-candidate ELBO estimates of one sample (candidates: its prepared conditions,
    one shape), sharing every (t, eps) draw and pruning clearly worse candidates per round."""
    spec = spec or ElboSpec()
    shapes = {tuple(p.x0.shape) for p in preps}
    if len(shapes) != 1:
        raise ValueError(f"candidates of one sample must share x0's shape, got {sorted(shapes)}")
    n = len(preps)
    sch = adapter.schedule
    const_d = [_constant(adapter, p, spec) for p in preps]
    const = torch.tensor([c for c, _ in const_d], dtype=torch.float64)
    proposal = TimeProposal(sch, spec.t_start, spec.t_end)
    values = torch.full((n, spec.max_draws), float("nan"), dtype=torch.float64)
    times = torch.zeros(spec.max_draws, dtype=torch.float64)
    alive, pruned_after, done = list(range(n)), [None] * n, 0
    for r, k in enumerate(spec.rounds):
        index = range(done, done + int(k))
        t, eps = draws_of(sample_id, spec.seed, index, preps[0].x0.shape, proposal)
        rows = [(c, j) for c in alive for j in range(len(index))]
        loss = _losses(adapter, preps, rows, t, eps, spec).view(len(alive), len(index))
        values[alive, done:done + len(index)] = const[alive, None] - 0.5 * proposal.weight(t) * loss
        times[done:done + len(index)] = t
        done += len(index)
        if spec.prune_z is None or r == len(spec.rounds) - 1 or len(alive) < 2:
            continue
        v = _pairs(values[alive, :done])
        best = int(v.mean(1).argmax())
        diff = v[best] - v
        se = _se(diff, times[:done:2])
        drop = (diff.mean(1) > spec.prune_z * se) & (torch.arange(len(alive)) != best)
        for i in torch.nonzero(drop).flatten().tolist():
            pruned_after[alive[i]] = r
        alive = [c for i, c in enumerate(alive) if not bool(drop[i])]
    draws = (~torch.isnan(values)).sum(1)
    mean, se = [], []
    for c in range(n):
        v = _pairs(values[c:c + 1, :int(draws[c])])
        mean.append(float(v.mean()))
        se.append(float(_se(v, times[:int(draws[c]):2])[0]))
    return ElboResult(torch.tensor(mean, dtype=torch.float64),
                      torch.tensor(se, dtype=torch.float64), draws,
                      torch.tensor([d for _, d in const_d]), pruned_after)


def _se(w: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Return the standard error of each row's mean of w (C, M) from successive differences in
    t order (the systematic-sampling estimator: the t draws are stratified, so the spread of w
    across t is not error; NaN for M < 2)."""
    m = w.shape[1]
    if m < 2:
        return torch.full((w.shape[0],), float("nan"), dtype=torch.float64)
    dw = torch.diff(w[:, torch.argsort(t)], dim=1)
    return ((dw * dw).sum(1) / (2 * (m - 1)) / m).sqrt()


def _pairs(values: torch.Tensor) -> torch.Tensor:
    """Return the means of antithetic pairs (C, J) -> (C, J / 2): the independent draws."""
    return values.view(values.shape[0], -1, 2).mean(2)
