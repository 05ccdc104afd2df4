"""The tables of dlik tables: the registry (study_tables.TABLES), the options every table
builder reads, and a study table rendered with those options' defaults."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from .formatting import FORMATS
from .legacy import upgrade_columns
from .study_tables import TABLES

__all__ = ["TABLES", "build_parser", "render_study_table"]


def render_study_table(name: str, df: pd.DataFrame) -> str:
    """Return table `name` of df with the command line's default options (markdown)."""
    if name not in TABLES:
        raise ValueError(f"table must be one of {sorted(TABLES)}, got {name!r}")
    return TABLES[name][0](upgrade_columns(df), build_parser().parse_args([name, "--input", "-"]))


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """Return the argument parser of dlik tables (every table's options)."""
    from ..validation.parser import OneLineParser

    ap = OneLineParser(prog="dlik tables", description=description)
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
