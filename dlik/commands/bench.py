"""dlik bench: the paper's likelihood protocol vs dlik's fast path, same samples and probes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch

from ..engine.solve import SolverSpec
from ..estimators.elbo import ElboSpec
from ..models.base import Adapter, Job
from ..scoring.bench import bench, bench_elbo
from .config import solver_preset
from ..validation.command_args import check_bench
from ..validation.parser import OneLineParser
from ..validation.refusal import Refused


def _gaussian(args) -> tuple[Adapter, list[Job]]:
    from ..models.gaussian import GaussianAdapter

    if args.estimator == "elbo":  # candidates: the true conditional mean and others
        ad = GaussianAdapter(dim=args.dim, prior="terminal", dtype="float32", cond_scale=1.0)
        per = max(2, args.candidates)
        return ad, [Job(f"bench-{i:04d}", "own" if k == 0 else f"other{k}")
                    for i in range(max(1, args.samples // per)) for k in range(per)]
    ad = GaussianAdapter(dim=args.dim, prior="terminal", dtype="float32")
    return ad, [Job(f"bench-{i:04d}", "analytic") for i in range(args.samples)]


def _gradtts(args) -> tuple[Adapter, list[Job]]:
    from ..experiments.tts_bench import bench_jobs

    return bench_jobs(args.samples, device=args.device, n_utterances=args.utterances,
                      skip_utterances=args.skip_utterances)


def _tti(model: str) -> Callable:
    """Return the builder of one held-out image of the embedded CLEVR-like set under
    --samples prompts (its own caption first, then the other colour x shape captions), scored
    by the embedded tiny model `model` (configs/model/<model>.yaml): one batch of shared
    latents."""
    def build(args) -> tuple[Adapter, list[Job]]:
        from itertools import product

        from ..api import load_model
        from ..data.image_sets import SETS, ShapesImageSet, caption

        item = ShapesImageSet("clevr_shapes", n_items=1).items()[0]
        own = item.payload["prompt"]
        prompts = [own] + [p for p in (caption("clevr_shapes", colour=c, shape=s)
                                       for c, s in product(*SETS["clevr_shapes"].values()))
                           if p != own]
        if not 1 <= args.samples <= len(prompts):
            raise Refused("dlik bench", f"--samples for {model} must be in 1..{len(prompts)} "
                          f"(prompts of one image), got {args.samples}")
        return load_model(model, device=args.device), [
            Job(item.item_id, p.replace(" ", "_"), payload={**item.payload, "prompt": p})
            for p in prompts[:args.samples]]
    return build


MODELS: dict[str, Callable] = {"gaussian": _gaussian, "gradtts": _gradtts,
                               "sdxl": _tti("sdxl_tiny"), "sd3": _tti("sd3_tiny")}


def main(argv: list[str]) -> int:
    """CLI: dlik bench [--model gaussian|gradtts|sdxl|sd3] ...; prints one JSON line per
    model (sdxl / sd3: the embedded sdxl_tiny / sd3_tiny)."""
    ap = OneLineParser(prog="dlik bench", description=__doc__)
    ap.add_argument("--model", choices=sorted(MODELS), nargs="+", default=["gaussian"])
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--utterances", type=int, default=2,
                    help="gradtts: test utterances the samples' text swaps come from")
    ap.add_argument("--skip-utterances", type=int, default=0,
                    help="gradtts: start after this many test utterances (a held-out set)")
    ap.add_argument("--dim", type=int, default=80 * 64, help="gaussian: data dims")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--solver", default=None,
                    help="the fast path as a solver preset (configs/solver/NAME.yaml, e.g. a "
                    "study's default); overrides --method/--atol/--rtol/--step-size")
    ap.add_argument("--method", default="dopri5")
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--step-size", type=float, default=None,
                    help="fixed steps (in the changed time) instead of atol/rtol control")
    ap.add_argument("--time-change", default="none")
    ap.add_argument("--ref-tol", type=float, default=1e-8)
    ap.add_argument("--paper-tol", type=float, default=1e-5,
                    help="the paper protocol's atol = rtol (1e-5 for Grad-TTS; its SDXL "
                    "runs used 1e-3)")
    ap.add_argument("--ref-time-change", default="none", help="the reference's time change")
    ap.add_argument("--ref-json", type=Path, help="reference cache: reused when it matches, "
                    "else computed and written")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = leave)")
    ap.add_argument("--estimator", choices=["exact", "elbo"], default="exact",
                    help="elbo: exact ODE (the fast solver) vs the ELBO ranker on candidates")
    ap.add_argument("--candidates", type=int, default=4, help="elbo, gaussian: per sample")
    ap.add_argument("--elbo-rounds", default="8,8,16", help="elbo: draws per pruning round")
    ap.add_argument("--elbo-prune-z", type=float, default=3.0, help="elbo: <= 0 never prunes")
    ap.add_argument("--elbo-csv", type=Path, help="elbo: write the paired rows here")
    args = ap.parse_args(argv)
    check_bench(args)  # one-line refusals before any model loads
    if args.threads:
        torch.set_num_threads(args.threads)
    fast = SolverSpec(args.method, args.atol, args.rtol, "batched", step_size=args.step_size,
                      time_change=args.time_change)
    if args.solver:
        fast = solver_preset(args.solver)
    for name in args.model:
        adapter, jobs = MODELS[name](args)
        if args.estimator == "elbo":
            spec = ElboSpec(rounds=tuple(int(r) for r in args.elbo_rounds.split(",")),
                            prune_z=args.elbo_prune_z if args.elbo_prune_z > 0 else None,
                            batch_size=args.batch_size)
            print(json.dumps(bench_elbo(adapter, jobs, args.batch_size, fast, spec,
                                        csv=args.elbo_csv)), flush=True)
            continue
        record = bench(adapter, jobs, args.batch_size, fast, args.ref_tol,
                       ref_cache=args.ref_json, ref_time_change=args.ref_time_change,
                       paper_tol=args.paper_tol)
        print(json.dumps(record), flush=True)
    return 0
