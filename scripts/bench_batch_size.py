"""Per-row cost of one likelihood stage (Grad-TTS drift + one Rademacher VJP) against batch
size, on the embedded model: picks the TTS studies' default batch_size for a device.

    python scripts/bench_batch_size.py --threads 1 --sizes 1 2 4 8 [--compile] [--device cuda]
"""

from __future__ import annotations

import argparse
import time

import torch

from dlik.experiments.tts_bench import bench_jobs


def main() -> None:
    """Print ms per network evaluation and per row for each batch size."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = leave)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compile", action="store_true", help="torch.compile the estimator")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    adapter, jobs = bench_jobs(1, device=args.device, n_utterances=1)
    if args.compile:
        adapter.estimator = torch.compile(adapter.estimator)
    prep = adapter.prepare(jobs[0])
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    for b in args.sizes:
        x = prep.x0.expand(b, *prep.x0.shape).clone()
        cond = {k: v.expand(b, *v.shape).clone() for k, v in prep.cond.items()}
        t = torch.full((b,), 0.5, device=x.device)
        probe = torch.randint(0, 2, x.shape, device=x.device).to(x.dtype) * 2 - 1

        def stage() -> None:
            xx = x.clone().requires_grad_(True)
            torch.autograd.grad(adapter.drift(xx, t, cond), xx, probe)

        start = time.perf_counter()
        stage()  # warm-up (and compilation)
        first = time.perf_counter() - start
        sync()
        start = time.perf_counter()
        for _ in range(args.repeats):
            stage()
        sync()
        dt = (time.perf_counter() - start) / args.repeats
        print(f"batch {b:3d}  shape {tuple(x.shape)}  {dt * 1e3:7.1f} ms/eval  "
              f"{dt / b * 1e3:7.1f} ms/row  (first call {first:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
