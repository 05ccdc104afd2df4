"""dlik report: one markdown + HTML report of every results CSV under the given run dirs, with
each run's provenance, its study table (the paper's numbers beside ours) and PNG plots.

Reads CSVs only (a dir holding only shard CSVs is merged in memory); never runs a model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..analysis.report import build_report


def main(argv: list[str]) -> int:
    """CLI: dlik report RUN_DIR_OR_CSV... [--out DIR]; returns the exit code."""
    ap = argparse.ArgumentParser(prog="dlik report", description=__doc__)
    ap.add_argument("inputs", nargs="+", type=Path, help="run dirs (searched recursively) or CSVs")
    ap.add_argument("--out", type=Path, default=None,
                    help="output dir (default: <first input dir>/report)")
    args = ap.parse_args(argv)
    first = args.inputs[0]
    out = args.out or ((first if first.is_dir() else first.parent) / "report")
    try:
        path = build_report(args.inputs, out)
    except ValueError as exc:
        raise SystemExit(f"dlik report: error: {exc}") from None
    print(f"[dlik] report -> {path} and {path.with_suffix('.html')}")
    return 0
