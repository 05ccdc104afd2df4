"""How much bpd the interval below SDXL's first trained timestep adds, on the embedded model.

    python scripts/sdxl_t_start.py                          # 4 clevr + 4 pacs held-out images
    python scripts/sdxl_t_start.py --per-set 8 --tol 1e-5 --t-starts 1e-5 1e-3 2e-3
    python scripts/sdxl_t_start.py --n-probes 8 --tol 1e-4   # less probe noise per image

Scores each held-out image under its own caption (no guidance, VAE posterior mean) with the
same solver, probes and batch at every t_start (dlik's batched dopri5, K Rademacher probes
seeded by the image, so the probes are the same at every t_start), and prints a markdown table:
bpd per image at each t_start and its difference from the second, with the mean (and, for
K > 1, each row's Monte-Carlo standard error). t = 1e-5 is
the Grad-TTS value that dlik used before (UNet timestep -0.99, below the trained range);
t = 1e-3 = 1/N is timestep 0 (the first trained one, the TTI default now); t = 2e-3 is
timestep 1, where the authors' code starts its sigma integral (sigma 0.041).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def score(adapter, items, t_start: float, tol: float, n_probes: int
          ) -> tuple[dict[str, dict], float]:
    """Return ({item id: row}, wall seconds) of each item under its own caption at t_start."""
    from dlik.engine.solve import SolverSpec
    from dlik.models.base import Job
    from dlik.scoring.runner import Runner, ScoreSettings

    spec = SolverSpec(method="dopri5", atol=tol, rtol=tol, t_start=t_start, n_probes=n_probes)
    jobs = [Job(it.item_id, "own", {}, {"image_path": it.payload["image_path"],
                                        "prompt": it.payload["prompt"]}) for it in items]
    rows: list[dict] = []
    start = time.perf_counter()
    Runner(adapter, ScoreSettings(solver=spec, batch_size=len(jobs), seed=0), rows.append,
           progress=False).run(jobs)
    bad = [r for r in rows if r["status"] != "ok"]
    if bad:
        raise RuntimeError(f"row {bad[0]['sample_id']} failed: {bad[0].get('error')}")
    return {r["sample_id"]: r for r in rows}, time.perf_counter() - start


def paired_difference(row: dict, ref: dict) -> tuple[float, float]:
    """Return (mean, standard error) over probes of row's bpd minus ref's, probe by probe."""
    from dlik.derived.paired import probe_values

    a, b = probe_values(row["logp_probes"]), probe_values(ref["logp_probes"])
    d = -(a - b) / (np.log(2.0) * row["n_dims"])
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def main(argv: list[str]) -> int:
    """Measure bpd at each t_start and print the table (and a JSON line); return 0."""
    from dlik.data.image_sets import ShapesImageSet
    from dlik.models.sdxl.adapter import SDXLAdapter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-set", type=int, default=4, help="test images per image set")
    ap.add_argument("--tol", type=float, default=1e-5, help="dopri5 atol = rtol")
    ap.add_argument("--t-starts", type=float, nargs="+", default=[1e-5, 1e-3, 2e-3])
    ap.add_argument("--n-probes", type=int, default=1, help="Rademacher probes per row")
    args = ap.parse_args(argv)
    adapter = SDXLAdapter("embedded", allow_t_below_trained=True)
    items = [it for name in ("clevr_shapes", "pacs_styles")
             for it in ShapesImageSet(name, split="test", n_items=args.per_set).items()]
    runs = {t: score(adapter, items, t, args.tol, args.n_probes) for t in args.t_starts}
    ref = args.t_starts[1] if len(args.t_starts) > 1 else args.t_starts[0]
    head = " | ".join(f"bpd at {t:g}" for t in args.t_starts)
    diff = " | ".join(f"{t:g} - {ref:g}" for t in args.t_starts if t != ref)
    print(f"| image | prompt | {head} | {diff} |")
    print("|---|---|" + "---|" * (len(args.t_starts) * 2 - 1))
    for it in items:
        bpd = {t: runs[t][0][it.item_id]["bpd"] for t in args.t_starts}
        cells = " | ".join(f"{bpd[t]:.4f}" for t in args.t_starts)
        deltas = " | ".join(f"{bpd[t] - bpd[ref]:+.4f}" for t in args.t_starts if t != ref)
        print(f"| {it.item_id} | {it.payload['prompt']} | {cells} | {deltas} |")
    mean = {t: float(np.mean([r["bpd"] for r in runs[t][0].values()])) for t in args.t_starts}
    cells = " | ".join(f"{mean[t]:.4f}" for t in args.t_starts)
    deltas = " | ".join(f"{mean[t] - mean[ref]:+.4f}" for t in args.t_starts if t != ref)
    print(f"| mean of {len(items)} | | {cells} | {deltas} |")
    if args.n_probes > 1:  # the same probes at every t_start: differences paired probe by probe
        for t in (t for t in args.t_starts if t != ref):
            d = [paired_difference(runs[t][0][it.item_id], runs[ref][0][it.item_id])
                 for it in items]
            print(f"\n{t:g} - {ref:g}, per image (mean over probes, its se): "
                  + ", ".join(f"{m:+.4f} ({e:.4f})" for m, e in d))
    nfe = {t: float(np.mean([r["nfe"] for r in runs[t][0].values()])) for t in args.t_starts}
    se = {t: float(np.nanmean([r.get("bpd_se") or np.nan for r in runs[t][0].values()]))
          for t in args.t_starts}
    print(f"\nbatched dopri5 atol = rtol = {args.tol:g}, {args.n_probes} Rademacher probe(s) "
          f"per image (the same at every t_start); mean bpd_se per row "
          + ", ".join(f"{se[t]:.4f}" for t in args.t_starts) + "; mean NFE per row "
          + ", ".join(f"{nfe[t]:.0f} at {t:g}" for t in args.t_starts)
          + "; wall " + ", ".join(f"{runs[t][1]:.0f} s" for t in args.t_starts))
    print(json.dumps({"tol": args.tol, "n_probes": args.n_probes,
                      "mean_bpd": {f"{t:g}": mean[t] for t in mean},
                      "nfe": {f"{t:g}": nfe[t] for t in nfe}}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
