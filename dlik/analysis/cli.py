"""dlik tables: the paper's tables from results CSVs (a registry of table builders)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from .formatting import FORMATS, render
from .legacy import upgrade_columns
from .paper_numbers import beside


def _nbest(df: pd.DataFrame, args) -> str:
    from .nbest import nbest_table, resolve_oracle_by
    from .text_norm import NORMALIZATIONS

    oracle_by = resolve_oracle_by(df, args.oracle_by)
    table, p = nbest_table(df, n_random=args.n_random, seed=args.seed,
                           normalize=args.normalize, oracle_by=oracle_by)
    out = render(table, args.format)
    if args.format != "csv":
        oracle = ("the input's per-hypothesis wer column" if oracle_by == "wer"
                  else "word errors after normalisation")
        out += (f"\n\ntext normalisation: {args.normalize}: {NORMALIZATIONS[args.normalize]}"
                f"\noracle best/worst: by {oracle}"
                f"\nmatched pairs (paired bootstrap, am vs likelihood): p = {p:.4g}")
    return out


TABLES = {"nbest": (_nbest, "Table 2: WER of N-best selection systems")}


def register(name: str, fn, help_: str) -> None:
    """Add a table builder fn(df, args) -> str under name."""
    TABLES[name] = (fn, help_)


def render_study_table(name: str, df: pd.DataFrame) -> str:
    """Return table `name` of df with the command line's default options (markdown)."""
    from . import study_tables  # noqa: F401  (registers the study tables)

    if name not in TABLES:
        raise ValueError(f"table must be one of {sorted(TABLES)}, got {name!r}")
    return TABLES[name][0](upgrade_columns(df), build_parser().parse_args([name, "--input", "-"]))


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of dlik tables (every table's options)."""
    from . import study_tables  # noqa: F401  (registers the study tables)

    ap = argparse.ArgumentParser(prog="dlik tables", description=__doc__)
    ap.add_argument("table", choices=sorted(TABLES), help="which table")
    ap.add_argument("--input", "-i", type=Path, nargs="+", required=True, help="results CSV(s)")
    ap.add_argument("--format", "-f", choices=FORMATS, default="md")
    ap.add_argument("--seed", type=int, default=0, help="seed of random/bootstrap draws")
    ap.add_argument("--n-random", type=int, default=100, help="draws for the random system")
    ap.add_argument("--normalize", choices=["none", "basic", "whisper"], default="none",
                    help="nbest: text normalisation before WER; none = texts as given "
                    "(the paper's Table 2), basic = lowercase without punctuation, whisper = "
                    "Whisper's English normaliser")
    ap.add_argument("--oracle-by", choices=["auto", "wer", "errors"], default="auto",
                    help="nbest: oracles rank by the input's per-hypothesis wer column (the "
                    "paper's) or by word errors; auto = wer when the input has the column")
    ap.add_argument("--out", type=Path, default=None, help="also write the table here")
    return ap


def main(argv: list[str]) -> int:
    """CLI: dlik tables NAME --input CSV [--format md|latex|csv]; returns the exit code."""
    args = build_parser().parse_args(argv)
    for p in args.input:
        if not p.exists():
            raise SystemExit(f"dlik tables: error: input {p} does not exist")
    df = upgrade_columns(pd.concat([pd.read_csv(p) for p in args.input], ignore_index=True))
    fn, _ = TABLES[args.table]
    try:
        with beside(args.table):  # the paper's numbers beside ours (paper_numbers.json)
            text = fn(df, args)
    except ValueError as exc:
        raise SystemExit(f"dlik tables: error: {exc}") from None
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0
