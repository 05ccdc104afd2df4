"""Compare two results CSVs row by row on their measure columns (bitwise by default).

Usage: python scripts/compare_results.py A.csv B.csv [--atol 0]
Rows are matched on (sample_id, condition_id); every column both files share, other than
timing and provenance, must be equal (floats within --atol). Exit code 1 on any difference.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

SKIP = {"wall_s", "config_hash", "git_commit", "dlik_version", "batch_size", "max_steps"}


def compare(a: pd.DataFrame, b: pd.DataFrame, atol: float = 0.0) -> list[str]:
    """Return a list of differences between two results tables (empty when equal)."""
    key = ["sample_id", "condition_id"]
    a, b = a.set_index(key).sort_index(), b.set_index(key).sort_index()
    problems = []
    if list(a.index) != list(b.index):
        problems.append(f"row keys differ: {len(a)} vs {len(b)} rows")
        return problems
    for c in sorted((set(a.columns) & set(b.columns)) - SKIP):
        x, y = a[c], b[c]
        if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
            xv, yv = x.to_numpy(), y.to_numpy()
            same = (np.abs(xv - yv) <= atol) | (np.isnan(xv) & np.isnan(yv))
        else:
            same = (x.astype(str) == y.astype(str)).to_numpy()
        if not same.all():
            problems.append(f"{c}: {int((~same).sum())} rows differ")
    return problems


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--atol", type=float, default=0.0)
    args = ap.parse_args(argv)
    probs = compare(pd.read_csv(args.a), pd.read_csv(args.b), args.atol)
    print("\n".join(probs) if probs else f"equal ({'bitwise' if args.atol == 0 else args.atol})")
    return 1 if probs else 0


if __name__ == "__main__":
    sys.exit(main())
