"""NFE and accuracy of dlik's batched dopri5 against torchdiffeq's (the paper's protocol,
batch 1) at equal atol = rtol, on the analytic Gaussian and on a random-weight Grad-TTS
score network (80 mels x 64 frames); one probe per row, the same for every solver.

    python scripts/nfe_control.py --problem gaussian --dim 5120 --tols 1e-5 1e-7
    python scripts/nfe_control.py --problem gradtts --est-dim 16 --tols 1e-5 --ref-json ref.json

Accuracy is max |bpd - reference| over rows; the reference is batched dopri5 at --ref-tol
(kept in --ref-json when given, so runs of other code versions share it) and, for the
Gaussian, also the closed form. Prints one JSON line per tolerance, then a markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from dlik.engine import log_likelihood, probe_seed


def gaussian_problem(dim: int, samples: int, dtype: str):
    """Return (drift, x0, prior_mean, prior_std, cond, exact_bpd) of the analytic Gaussian."""
    from dlik.models.base import Job
    from dlik.models.gaussian import GaussianAdapter

    ad = GaussianAdapter(dim=dim, prior="terminal", dtype=dtype)
    preps = [ad.prepare(Job(f"bench-{i:04d}", "analytic")) for i in range(samples)]
    stack = lambda key: torch.stack([getattr(p, key) for p in preps])  # noqa: E731
    cond = {k: torch.stack([p.cond[k] for p in preps]) for k in preps[0].cond}
    exact = torch.tensor([p.columns["exact_bpd"] for p in preps], dtype=torch.float64)
    return ad.drift, stack("x0"), stack("prior_mean"), stack("prior_std"), cond, exact


def gradtts_problem(est_dim: int, samples: int, frames: int = 64, seed: int = 0):
    """Return (drift, x0, prior_mean, prior_std, cond, None): random-weight Grad-TTS decoder,
    mu ~ N(0, I), x0 = mu + N(0, I), no padding."""
    from dlik.models.gradtts.estimator import GradLogPEstimator2d
    from dlik.models.schedules import LinearBetaSchedule, pf_ode_drift

    torch.manual_seed(seed)
    est = GradLogPEstimator2d(est_dim).eval()
    for p in est.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(seed + 1)
    mu = torch.randn(samples, 80, frames, generator=g)
    x0 = mu + torch.randn(samples, 80, frames, generator=g)
    sched = LinearBetaSchedule()

    def drift(x, t, c):
        score = est(x, c["mask"], c["mu"], t)
        return pf_ode_drift(sched.beta(t).view(-1, 1, 1), x, score, c["mu"])

    return drift, x0, mu, 1.0, {"mu": mu, "mask": torch.ones(samples, 1, frames)}, None


def score(problem, seeds, integrator: str, tol: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (bpd, nfe) per row of dopri5 at atol = rtol = tol: torchdiffeq one row at a time
    (the paper's batch 1), batched on all rows at once."""
    drift, x0, pm, ps, cond, _ = problem

    def run(rows: slice):
        part = lambda v: v[rows] if torch.is_tensor(v) and v.dim() else v  # noqa: E731
        res = log_likelihood(drift, x0[rows], part(pm), part(ps),
                             cond={k: v[rows] for k, v in cond.items()}, seeds=seeds[rows],
                             method="dopri5", atol=tol, rtol=tol, integrator=integrator)
        return res.bpd, res.nfe

    if integrator == "batched":
        return run(slice(None))
    parts = [run(slice(i, i + 1)) for i in range(x0.shape[0])]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def reference(problem, seeds, tol: float, tag: dict, cache: Path | None) -> torch.Tensor:
    """Return batched dopri5 bpd at atol = rtol = tol, from cache when its tag matches."""
    if cache is not None and cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("tag") == tag:
            return torch.tensor(stored["bpd"], dtype=torch.float64)
    bpd = score(problem, seeds, "batched", tol)[0]
    if cache is not None:
        cache.write_text(json.dumps({"tag": tag, "bpd": bpd.tolist()}) + "\n")
    return bpd


def main() -> None:
    """Print NFE per row and accuracy of both integrators at each tolerance."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", choices=["gaussian", "gradtts"], default="gaussian")
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--dim", type=int, default=80 * 64, help="gaussian: data dims")
    ap.add_argument("--dtype", default="float32", help="gaussian: network dtype")
    ap.add_argument("--est-dim", type=int, default=16, help="gradtts: decoder width")
    ap.add_argument("--tols", type=float, nargs="+", default=[1e-5])
    ap.add_argument("--ref-tol", type=float, default=1e-8, help="0: no reference")
    ap.add_argument("--ref-json", type=Path, default=None, help="reference cache")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--label", default="", help="tag of the code version in the output")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.problem == "gaussian":
        problem = gaussian_problem(args.dim, args.samples, args.dtype)
        name = f"gaussian(dim={args.dim},{args.dtype})"
    else:
        problem = gradtts_problem(args.est_dim, args.samples)
        name = f"gradtts_random(dec_dim={args.est_dim},80x64)"
    seeds = [probe_seed(f"s{i}", "c", 0) for i in range(args.samples)]
    rows = []
    for tol in args.tols:
        rec = {"label": args.label, "problem": name, "tol": tol}
        for integ in ("torchdiffeq", "batched"):
            bpd, nfe = score(problem, seeds, integ, tol)
            rec[f"nfe_{integ}"] = nfe.double().mean().item()
            rec[f"nfe_rows_{integ}"] = nfe.tolist()
            rec[f"bpd_rows_{integ}"] = bpd.tolist()
        rec["nfe_ratio"] = rec["nfe_batched"] / rec["nfe_torchdiffeq"]
        rows.append(rec)
    tag = {"problem": name, "samples": args.samples, "ref_tol": args.ref_tol}
    ref = reference(problem, seeds, args.ref_tol, tag, args.ref_json) if args.ref_tol else None
    for rec in rows:
        for integ in ("torchdiffeq", "batched"):
            bpd = torch.tensor(rec[f"bpd_rows_{integ}"], dtype=torch.float64)
            err = float("nan") if ref is None else (bpd - ref).abs().max().item()
            rec[f"err_ref_{integ}"] = err
            if problem[-1] is not None:
                rec[f"err_exact_{integ}"] = (bpd - problem[-1]).abs().max().item()
        print(json.dumps(rec), flush=True)
    print("\n| code | problem | tol | NFE/row torchdiffeq | NFE/row batched | ratio "
          "| max dbpd ref: torchdiffeq | batched |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['label']} | {r['problem']} | {r['tol']:g} | {r['nfe_torchdiffeq']:.1f} "
              f"| {r['nfe_batched']:.1f} | {r['nfe_ratio']:.3f} | {r['err_ref_torchdiffeq']:.2e} "
              f"| {r['err_ref_batched']:.2e} |")


if __name__ == "__main__":
    main()
