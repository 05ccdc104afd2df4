"""Accuracy against cost on the embedded Grad-TTS: each solver setting's NFE per sample and
max |delta bpd| against a tight reference, same samples and probes (batch 1).

    python scripts/sweep_tolerance.py --samples 2 --ref dopri5:1e-8:1e-8:sqrt \
        dopri5:1e-3:1e-3:none dopri5:1e-4:1e-4:sqrt dopri5:1e-5:1e-5:sqrt

A setting is method:atol:rtol:time_change; methods outside dlik's batched integrator (for
example dopri8) run through torchdiffeq. The reference costs ~5000 NFE per sample: --ref-json
keeps it in a file (the format dlik bench --ref-json reads) and reuses it when it matches.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from dlik.bench import reference_bpd, run_jobs
from dlik.engine.solve import SolverSpec
from dlik.experiments.tts_bench import bench_jobs
from dlik.runner import ScoreSettings


def _settings(setting: str) -> ScoreSettings:
    """Return batch-1 settings of one method:atol:rtol:time_change."""
    method, atol, rtol, change = setting.split(":")
    spec = SolverSpec(method, float(atol), float(rtol), "auto", time_change=change)
    return ScoreSettings(solver=spec, batch_size=1, estimator="rademacher", n_probes=1, seed=0)


def _score(adapter, jobs, setting: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Return (bpd, nfe, wall seconds) of every job under one method:atol:rtol:time_change."""
    rows, wall = run_jobs(adapter, jobs, _settings(setting), setting)
    ordered = [rows[k] for k in sorted(rows)]
    return (np.array([r["bpd"] for r in ordered]), np.array([r["nfe"] for r in ordered]), wall)


def main() -> None:
    """Print one JSON line per setting: NFE per sample and max |delta bpd| vs the reference."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("settings", nargs="+")
    ap.add_argument("--ref", default="dopri5:1e-8:1e-8:sqrt")
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ref-json", type=Path, help="reference cache (reused when it matches)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    adapter, jobs = bench_jobs(args.samples)
    by_key = reference_bpd(adapter, jobs, _settings(args.ref), args.ref_json)
    ref = np.array([by_key[k] for k in sorted(by_key)])
    print(json.dumps({"reference": args.ref, "bpd": ref.tolist()}), flush=True)
    for setting in args.settings:
        bpd, nfe, wall = _score(adapter, jobs, setting)
        print(json.dumps({"setting": setting, "nfe_per_sample": float(nfe.mean()),
                          "max_abs_dbpd_vs_ref": float(np.abs(bpd - ref).max()),
                          "wall_s": wall}), flush=True)


if __name__ == "__main__":
    main()
