"""Join sharded results CSVs into one, keeping the first row of each (sample, condition), and
recompute derived columns (analysis/derived.py) from the joined rows."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..analysis.derived import derive_columns


def merge_results(paths: list[Path]) -> pd.DataFrame:
    """Return the union of results CSVs, deduplicated on (sample_id, condition_id)."""
    if not paths:
        raise ValueError("no results*.csv files to merge")
    frames = [pd.read_csv(p, dtype={"sample_id": str, "condition_id": str}) for p in paths]
    cols = list(frames[0].columns)
    for p, f in zip(paths, frames):
        if list(f.columns) != cols:
            raise ValueError(f"{p} has different columns from {paths[0]}")
    df = pd.concat(frames, ignore_index=True)
    df = df.drop_duplicates(subset=["sample_id", "condition_id"], keep="first")
    return derive_columns(df.reset_index(drop=True))


def main(argv: list[str]) -> int:
    """CLI: dlik merge DIR_OR_CSV... [--out PATH]; returns the exit code."""
    ap = argparse.ArgumentParser(prog="dlik merge", description=__doc__)
    ap.add_argument("inputs", nargs="+", type=Path, help="run dirs or CSV files")
    ap.add_argument("--out", type=Path, default=None, help="default: <first dir>/results.csv")
    args = ap.parse_args(argv)
    paths: list[Path] = []
    for p in args.inputs:
        paths += sorted(p.glob("results.shard*.csv")) if p.is_dir() else [p]
    df = merge_results(paths)
    out = args.out or (args.inputs[0] / "results.csv" if args.inputs[0].is_dir()
                       else Path("results.csv"))
    df.to_csv(out, index=False)
    print(f"[dlik] merged {len(paths)} files, {len(df)} rows -> {out}")
    return 0
