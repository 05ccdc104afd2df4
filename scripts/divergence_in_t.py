"""The embedded Grad-TTS divergence along t at a fixed x: shows the oscillation (period about
2 pi / pe_scale) that makes moderate-tolerance likelihoods converge slowly (README,
Performance).

    python scripts/divergence_in_t.py --t0 0.05 0.5 --step 5e-4 --points 40
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from dlik.engine.divergence import drift_and_divergence
from dlik.experiments.tts_bench import bench_jobs


def main() -> None:
    """Print one JSON line per t0: the divergence at t0, t0 + step, ... and its swing."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--t0", type=float, nargs="+", default=[0.05, 0.5])
    ap.add_argument("--step", type=float, default=5e-4)
    ap.add_argument("--points", type=int, default=40)
    ap.add_argument("--noise", type=float, default=0.3, help="std of the noise added to x0")
    args = ap.parse_args()
    adapter, jobs = bench_jobs(1, n_utterances=1)
    prep = adapter.prepare(jobs[0])
    x0 = prep.x0.unsqueeze(0)
    cond = {k: v.unsqueeze(0) for k, v in prep.cond.items()}
    gen = torch.Generator().manual_seed(0)
    x = x0 + args.noise * torch.randn(x0.shape, generator=gen, dtype=x0.dtype)
    probe = (torch.randint(0, 2, x0.shape, generator=gen) * 2 - 1).to(x0.dtype).unsqueeze(1)
    mask = torch.ones_like(x0) if prep.mask is None else prep.mask.unsqueeze(0).expand_as(x0)
    for t0 in args.t0:
        ts = t0 + args.step * np.arange(args.points)
        div = np.array([float(drift_and_divergence(
            adapter.drift, x, torch.tensor([t], dtype=x0.dtype), cond, mask, probe, x0.dtype)[1][0])
            for t in ts])
        trend = np.polyval(np.polyfit(ts, div, 2), ts)
        print(json.dumps({"t0": t0, "step": args.step, "divergence": np.round(div, 1).tolist(),
                          "max_rel_swing_about_quadratic_trend":
                              float(np.abs(div - trend).max() / np.abs(div).mean())}), flush=True)


if __name__ == "__main__":
    main()
