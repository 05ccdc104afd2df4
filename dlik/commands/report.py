"""dlik report: one markdown + HTML report of every results CSV under the given run dirs, with
each run's provenance, its study table (the paper's numbers beside ours) and PNG plots.

Reads CSVs only (a dir holding only shard CSVs is merged in memory); never runs a model.
"""

from __future__ import annotations

from pathlib import Path

from ..analysis.report import build_report
from ..validation.inputs import check_csv
from ..validation.parser import OneLineParser
from ..validation.refusal import Refused


def main(argv: list[str]) -> int:
    """CLI: dlik report RUN_DIR_OR_CSV... [--out DIR]; returns the exit code."""
    ap = OneLineParser(prog="dlik report", description=__doc__)
    ap.add_argument("inputs", nargs="+", type=Path, help="run dirs (searched recursively) or CSVs")
    ap.add_argument("--out", type=Path, default=None,
                    help="output dir (default: <first input dir>/report)")
    args = ap.parse_args(argv)
    for p in args.inputs:  # a CSV input must be one; dirs are searched by build_report
        if p.suffix == ".csv" or (p.exists() and not p.is_dir()):
            check_csv(ap.prog, p)
    first = args.inputs[0]
    out = args.out or ((first if first.is_dir() else first.parent) / "report")
    try:
        path = build_report(args.inputs, out)
    except ValueError as exc:
        raise Refused("dlik report", str(exc)) from None
    print(f"[dlik] report -> {path} and {path.with_suffix('.html')}")
    return 0
