"""Accuracy against cost on the embedded models: each solver setting's NFE per sample, max
|bpd error| and the error of the differences between conditions of one sample (text swaps on
Grad-TTS, prompts of one image on the tiny SDXL or SD3) against a tight shared-probe reference.

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

from dlik.scoring.bench import reference_bpd, run_jobs
from dlik.engine.solve import SolverSpec
from dlik.experiments.tts_bench import bench_jobs
from dlik.scoring.runner import ScoreSettings


T_START: dict[str, float] = {}  # --t-start: set for every setting (SDXL starts at 1e-3)


def _settings(setting: str, batch_size: int = 8) -> ScoreSettings:
    """Return the settings of a preset name (configs/solver, e.g. paper), or of
    method:atol:rtol:time_change[:steps] or method:h=STEP:time_change (shared probes; steps
    shared unless :own); the paper's protocols run at batch 1."""
    from dlik.commands.config import solver_preset

    parts = setting.split(":")
    if len(parts) == 1:
        spec = solver_preset(setting, **T_START)
        return ScoreSettings(solver=spec, batch_size=1 if spec.probes == "independent"
                             else batch_size, seed=0)
    if len(parts) == 3 and parts[1].startswith("h="):
        spec = SolverSpec(parts[0], step_size=float(parts[1][2:]), time_change=parts[2],
                          **T_START)
    elif len(parts) in (4, 5):
        spec = SolverSpec(parts[0], float(parts[1]), float(parts[2]), time_change=parts[3],
                          steps=parts[4] if len(parts) == 5 else "shared", **T_START)
    else:
        raise ValueError(f"setting must be a preset name, method:atol:rtol:time_change[:steps] "
                         f"or method:h=STEP:time_change, got {setting!r}")
    return ScoreSettings(solver=spec, batch_size=batch_size, seed=0)


def _score(adapter, jobs, setting: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Return (bpd, nfe, wall seconds) of every job under one setting."""
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
    ap.add_argument("--model", choices=["gradtts", "sdxl", "sd3"], default="gradtts",
                    help="sdxl / sd3: the embedded sdxl_tiny / sd3_tiny, 16 prompts of an image")
    ap.add_argument("--t-start", type=float, default=None, help="every setting's t_start")
    ap.add_argument("--ref-json", type=Path, help="reference cache (reused when it matches)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.t_start is not None:
        T_START["t_start"] = args.t_start
    for setting in [args.ref, *args.settings]:
        _settings(setting)  # raise on a malformed setting before any scoring
    if args.model in ("sdxl", "sd3"):
        from dlik.commands.bench import MODELS

        adapter, jobs = MODELS[args.model](argparse.Namespace(samples=args.samples,
                                                              device="cpu"))
    else:
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
        # the studies report bpd differences between conditions of one sample: their error
        spread = max(float(np.ptp(err[utt == u])) for u in set(utt))
        diff_err = np.concatenate([err[utt == u] - err[utt == u][0] for u in set(utt)])
        print(json.dumps({"setting": setting, "nfe_per_sample": float(nfe.mean()),
                          "max_abs_dbpd_vs_ref": float(np.abs(err).max()),
                          "max_within_sample_error_spread": spread,
                          "rms_difference_error": float(np.sqrt(np.mean(diff_err ** 2))),
                          "wall_s": wall}), flush=True)


if __name__ == "__main__":
    main()
