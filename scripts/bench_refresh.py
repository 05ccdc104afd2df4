"""Probe noise at equal cost: fixed probes vs probes refreshed per stage, per model.

For each model, a few held-out inputs are scored under 3 conditions (own text / true prompt
and two others) with S probe seeds, once per scheme on the same solver (same steps, same
NFE: refresh adds no network call). Prints one JSON line per (model, scheme): the sd across
seeds of a row's bpd and of a difference against the first condition (the noise that is
really there), the median stated se and its degrees of freedom, how often the stated t
interval (95 %) covers the seed mean of a difference, and the wall time.

    python scripts/bench_refresh.py --model gaussian gradtts_lj gradtts_multi sdxl_tiny sd3_tiny
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

import dlik
from dlik.data.speech_corpus import data_dir, ensure_corpus
from dlik.engine.errors import t_quantile


def _tts_inputs(corpus: str, n: int):
    root = ensure_corpus(corpus)
    ids = (root / "splits" / "test.txt").read_text().split()[:n]
    if corpus == "ljspeech_synth":
        text = {line.split("|")[0]: line.split("|")[2]
                for line in (root / "metadata.csv").read_text().splitlines()}
        return [(root / "wavs" / f"{i}.wav", text[i], None) for i in ids]
    spk = {line.split("\t")[0]: int(line.split("\t")[4]) for line in
           (root / "speakers.tsv").read_text().splitlines()[1:]}
    out = []
    for i in ids:
        s, c, _ = i.split("_")
        folder = root / s / c
        out.append((folder / f"{i}.wav", (folder / f"{i}.normalized.txt").read_text().strip(),
                    spk[s]))
    return out


OTHER_TEXTS = ["The quick brown fox jumps over the lazy dog.",
               "She sells sea shells by the sea shore every summer."]


def cases(model: str, n: int):
    """Return [(input, [conditions])] for a model: the own condition first."""
    if model == "gaussian":
        g = torch.Generator().manual_seed(0)
        return [(torch.randn(16, generator=g, dtype=torch.float64), ["a", "b", "c"])
                for _ in range(n)]
    if model.startswith("gradtts"):
        corpus = "ljspeech_synth" if model == "gradtts_lj" else "libritts_synth"
        out = []
        for wav, text, spk in _tts_inputs(corpus, n):
            conds = [text, *OTHER_TEXTS]
            if spk is not None:
                conds = [{"text": c, "speaker": spk} for c in conds]
            out.append((str(wav), conds))
        return out
    import csv

    root = data_dir() / "clevr_shapes"
    if not (root / "manifest.csv").exists():
        from dlik.data.image_sets import ensure_image_set
        root = ensure_image_set("clevr_shapes")
    rows = [r for r in csv.DictReader(open(root / "manifest.csv")) if r["split"] == "test"][:n]
    return [(str(root / r["path"]), [r["prompt"], f"a {r['colour']} cylinder",
                                     f"a purple {r['shape']}"]) for r in rows]


MODEL_ARGS = {"gaussian": dict(covariance="full", prior="standard", cond_scale=1.0)}


def run(model_name: str, scheme: str, solver: dict, seeds: int, n: int) -> dict:
    model = dlik.load_model(model_name, device="cpu", **MODEL_ARGS.get(model_name, {}))
    frames = []
    start = time.perf_counter()
    for seed in range(seeds):
        for k, (x, conds) in enumerate(cases(model_name, n)):
            df = dlik.score(model, [x], conds, seed=seed, names=[f"in{k}"], refresh=scheme,
                            **solver)
            frames.append(df.assign(seed=seed))
    wall = time.perf_counter() - start
    import pandas as pd

    df = pd.concat(frames)
    bad = df[df["status"] != "ok"]
    if len(bad):
        raise RuntimeError(f"{len(bad)} rows failed: {bad['error'].iloc[0]}")
    row_sd = df.groupby(["sample_id", "condition_id"])["bpd"].std().median()
    diff = df[df["condition_id"] != "c0"]
    g = diff.groupby(["sample_id", "condition_id"])["delta_bpd"]
    dev = diff["delta_bpd"] - g.transform("mean")
    # a seed's interval should cover the other seeds' mean: scale the deviation from the
    # mean of S by sqrt(S / (S - 1)) so it has the variance of one estimate
    dev = dev * math.sqrt(seeds / (seeds - 1))
    q = diff["delta_bpd_se_dof"].map(t_quantile)
    cover = float((dev.abs() <= q * diff["delta_bpd_se"] + 1e-12).mean())
    return {"model": model.model_id, "scheme": scheme, "solver": solver, "seeds": seeds,
            "inputs": n, "rows": len(df), "nfe_median": float(df["nfe"].median()),
            "row_bpd_sd": float(row_sd), "diff_sd": float(g.std().median()),
            "diff_se_median": float(diff["delta_bpd_se"].median()),
            "diff_dof_median": float(diff["delta_bpd_se_dof"].median()),
            "row_se_median": float(df["bpd_se"].median()),
            "row_dof_median": float(df["se_dof"].median()),
            "t95_coverage_of_seed_mean": cover, "wall_s": round(wall, 1),
            "threads": torch.get_num_threads()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", nargs="+", default=["gaussian"])
    ap.add_argument("--schemes", nargs="+", default=["none", "stage"])
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--inputs", type=int, default=2)
    ap.add_argument("--solver", default="rk4_25steps", help="preset name")
    ap.add_argument("--set", nargs="*", default=[], help="solver overrides KEY=VALUE")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, help="append the JSON lines here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    solver = {"solver": a.solver}
    for kv in a.set:
        k, v = kv.split("=", 1)
        solver[k] = json.loads(v) if v[:1].isdigit() or v in ("null", "true") else v
    for m in a.model:
        for scheme in a.schemes:
            line = json.dumps(run(m, scheme, solver, a.seeds, a.inputs))
            print(line, flush=True)
            if a.out:
                with open(a.out, "a") as f:
                    f.write(line + "\n")
            print(f"[bench_refresh] {m} {scheme} done", file=sys.stderr)


if __name__ == "__main__":
    main()
