"""GPU check of dlik's likelihood engine (run by scripts/gpu_check.sh): the Gaussian and the
embedded Grad-TTS, scored with dlik bench's runner and job builders at each batch size on CUDA,
against the same rows scored on the CPU at batch 1. Prints one JSON line per (model, batch
size); exits 1 when a setting is further than --tol bpd from the CPU.

Without CUDA it says so on stderr and runs on the CPU (then it checks that a row's value
does not depend on the batch it shares). TF32 is switched off so CUDA runs in true fp32.
Grad-TTS rows: one utterance under its 8 texts, repeated with distinct probe seeds (condition
ids '<variant>#k') so that a batch of 64 rows has one shape and really is one batch.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch
import yaml

from dlik.scoring.bench import run_jobs, solver_label
from dlik.engine.solve import SolverSpec
from dlik.models.base import Job
from dlik.scoring.runner import ScoreSettings

SOLVERS = Path(__file__).resolve().parents[1] / "configs" / "solver"


def preset(name: str, step_size: float | None = None) -> SolverSpec:
    """Return the SolverSpec of configs/solver/<name>.yaml over base.yaml (step_size override)."""
    path = SOLVERS / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in SOLVERS.glob("*.yaml"))
        raise ValueError(f"solver preset must be one of {known}, got {name!r}")
    settings = yaml.safe_load((SOLVERS / "base.yaml").read_text())
    settings.update({k: v for k, v in yaml.safe_load(path.read_text()).items() if k != "defaults"})
    if step_size is not None:
        settings["step_size"] = step_size
    return SolverSpec.from_mapping(settings)


def gaussian(device: str, n: int, args) -> tuple:
    """Return (adapter, n jobs, solver) of the analytic Gaussian."""
    from dlik.models.gaussian import GaussianAdapter

    ad = GaussianAdapter(dim=args.dim, prior="terminal", dtype="float32", device=device)
    return ad, [Job(f"bench-{i:04d}", "analytic") for i in range(n)], preset(args.gaussian_solver)


def gradtts(device: str, n: int, args) -> tuple:
    """Return (adapter, n equal-shape jobs, solver) of the embedded Grad-TTS."""
    from dlik.experiments.tts_bench import bench_jobs

    ad, base = bench_jobs(8, device=device, n_utterances=1)
    jobs = [replace(j, condition_id=f"{j.condition_id}#{k}")
            for k in range(-(-n // len(base))) for j in base][:n]
    return ad, jobs, preset(args.gradtts_solver, args.gradtts_step_size)


MODELS = {"gaussian": gaussian, "gradtts": gradtts}


def check(name: str, device: str, args) -> list[dict]:
    """Return one record per batch size of model `name` on device against the CPU."""
    n = max(args.batch_sizes)
    ad, jobs, spec = MODELS[name](device, n, args)
    cpu_ad, cpu_jobs, _ = MODELS[name]("cpu", n, args) if device != "cpu" else (ad, jobs, spec)
    ref, _ = run_jobs(cpu_ad, cpu_jobs[:args.cpu_rows], ScoreSettings(solver=spec, batch_size=1),
                      "cpu reference, batch 1")
    run_jobs(ad, jobs[:1], ScoreSettings(solver=spec, batch_size=1), "warm-up")
    out = []
    for b in args.batch_sizes:
        rows, wall = run_jobs(ad, jobs[:b], ScoreSettings(solver=spec, batch_size=b),
                              f"{device}, batch {b}")
        common = [k for k in ref if k in rows]
        gap = max(abs(rows[k]["bpd"] - ref[k]["bpd"]) for k in common)
        out.append({
            "check": "gpu_check", "model": ad.model_id, "device": device,
            "cuda": device.startswith("cuda"), "batch_size": b, "rows": len(rows),
            "solver": solver_label(spec), "wall_s": wall, "rows_per_s": len(rows) / wall,
            "nfe_per_row": sum(r["nfe"] for r in rows.values()) / len(rows),
            "rows_vs_cpu": len(common), "max_abs_dbpd_vs_cpu": gap, "tol": args.tol,
            "ok": bool(gap <= args.tol), "tf32": False, "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None})
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI (see the module docstring); returns 0 when every setting is within --tol."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["gaussian", "gradtts"])
    ap.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 2, 4, 8, 16, 32, 64])
    ap.add_argument("--cpu-rows", type=int, default=2, help="rows scored on the CPU (batch 1)")
    ap.add_argument("--device", default="auto", help="auto | cuda | cuda:N | cpu")
    ap.add_argument("--tol", type=float, default=1e-4, help="max |bpd CUDA - bpd CPU|")
    ap.add_argument("--dim", type=int, default=80 * 64, help="gaussian: data dims")
    ap.add_argument("--gaussian-solver", default="dopri5_1e-5")
    ap.add_argument("--gradtts-solver", default="rk4_50steps")
    ap.add_argument("--gradtts-step-size", type=float, default=None,
                    help="override the Grad-TTS preset's step (e.g. 0.25 for a quick CPU test)")
    args = ap.parse_args(argv)
    if min(args.batch_sizes) < 1 or args.cpu_rows < 1:
        raise SystemExit(f"gpu_check: batch sizes and --cpu-rows must be >= 1, got "
                         f"{args.batch_sizes} and {args.cpu_rows}")
    device = args.device
    if device == "auto" or device.startswith("cuda"):
        if torch.cuda.is_available():
            device = "cuda" if device == "auto" else device
        else:
            print(f"gpu_check: CUDA is not available (torch {torch.__version__}): running on "
                  "the CPU instead, comparing each batch size with CPU batch 1",
                  file=sys.stderr, flush=True)
            device = "cpu"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ok = True
    for name in args.models:
        for record in check(name, device, args):
            print(json.dumps(record), flush=True)
            ok &= record["ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
