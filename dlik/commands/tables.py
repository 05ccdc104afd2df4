"""dlik tables: the paper's tables from results CSVs (a registry of table builders)."""

from __future__ import annotations

from ..analysis.legacy import upgrade_columns
from ..analysis.paper_numbers import beside
from ..analysis.tables import TABLES, build_parser
from ..io.results import read_many


def main(argv: list[str]) -> int:
    """CLI: dlik tables NAME --input CSV [--format md|latex|csv]; returns the exit code."""
    args = build_parser(__doc__).parse_args(argv)
    for p in args.input:
        if not p.exists():
            raise SystemExit(f"dlik tables: error: input {p} does not exist")
    df = upgrade_columns(read_many(args.input))  # as dlik report reads them
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
