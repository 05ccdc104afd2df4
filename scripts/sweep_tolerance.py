"""Accuracy against cost on the embedded Grad-TTS: each solver setting's NFE per sample and
max |delta bpd| against a tight reference, same samples and probes (batch 1).

    python scripts/sweep_tolerance.py --samples 2 --ref dopri5:1e-8:1e-8:sqrt \
        dopri5:1e-3:1e-3:none dopri5:1e-4:1e-4:sqrt rk4:h=0.02:none

A setting is method:atol:rtol:time_change, or method:h=STEP:time_change for fixed steps;
methods outside dlik's batched integrator (for example dopri8) run through torchdiffeq.
--skip-utterances 2 scores held-out utterances (settings chosen on the first ones). The
reference costs ~5000 NFE per sample: --ref-json keeps it in a file (the format dlik bench
--ref-json reads) and reuses it when it matches.
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
    """Return batch-1 settings of one method:atol:rtol:time_change or method:h=STEP:change."""
    parts = setting.split(":")
    if len(parts) == 3 and parts[1].startswith("h="):
        spec = SolverSpec(parts[0], step_size=float(parts[1][2:]), time_change=parts[2])
    elif len(parts) == 4:
        spec = SolverSpec(parts[0], float(parts[1]), float(parts[2]), time_change=parts[3])
    else:
        raise ValueError(f"setting must be method:atol:rtol:time_change or "
                         f"method:h=STEP:time_change, got {setting!r}")
    return ScoreSettings(solver=spec, batch_size=1, seed=0)


def _score(adapter, jobs, setting: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Return (bpd, nfe, wall seconds) of every job under one method:atol:rtol:time_change."""
    rows, wall = run_jobs(adapter, jobs, _settings(setting), setting)
    ordered = [rows[k] for k in sorted(rows)]
    return (np.array([r["bpd"] for r in ordered]), np.array([r["nfe"] for r in ordered]), wall)


def main() -> None:
    """Print one JSON line per setting: NFE per sample and max |delta bpd| vs the reference
    (of the bpd, and of bpd differences between the conditions of one utterance)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("settings", nargs="+")
    ap.add_argument("--ref", default="dopri5:1e-8:1e-8:sqrt")
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--utterances", type=int, default=2, help="test utterances of the samples")
    ap.add_argument("--skip-utterances", type=int, default=0, help="held-out: skip the first K")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ref-json", type=Path, help="reference cache (reused when it matches)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for setting in [args.ref, *args.settings]:
        _settings(setting)  # raise on a malformed setting before any scoring
    adapter, jobs = bench_jobs(args.samples, n_utterances=args.utterances,
                               skip_utterances=args.skip_utterances)
    by_key = reference_bpd(adapter, jobs, _settings(args.ref), args.ref_json)
    keys = sorted(by_key)
    ref = np.array([by_key[k] for k in keys])
    utt = np.array([sid for sid, _ in keys])
    print(json.dumps({"reference": args.ref, "bpd": ref.tolist()}), flush=True)
    for setting in args.settings:
        bpd, nfe, wall = _score(adapter, jobs, setting)
        err = bpd - ref
        # the studies report bpd differences between texts of one utterance: their error
        spread = max(float(np.ptp(err[utt == u])) for u in set(utt))
        print(json.dumps({"setting": setting, "nfe_per_sample": float(nfe.mean()),
                          "max_abs_dbpd_vs_ref": float(np.abs(err).max()),
                          "max_within_utterance_error_spread": spread,
                          "wall_s": wall}), flush=True)


if __name__ == "__main__":
    main()
