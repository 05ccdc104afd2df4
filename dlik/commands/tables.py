"""dlik tables: the paper's tables from results CSVs (a registry of table builders)."""

from __future__ import annotations

from ..analysis.legacy import upgrade_columns
from ..analysis.paper_numbers import beside
from ..analysis.tables import TABLES, build_parser
from ..io.results import read_many


def main(argv: list[str]) -> int:
    """CLI: dlik tables NAME --input CSV [--format md|latex|csv]; returns the exit code."""
    from ..validation.inputs import check_csv, check_out, missing_column
    from ..validation.refusal import Refused

    args = build_parser(__doc__).parse_args(argv)
    header = [c for p in args.input for c in check_csv("dlik tables", p)]
    check_out("dlik tables", args.out)
    df = upgrade_columns(read_many(args.input))  # as dlik report reads them
    fn, _ = TABLES[args.table]
    try:
        with beside(args.table):  # the paper's numbers beside ours (paper_numbers.json)
            text = fn(df, args)
    except ValueError as exc:
        raise Refused("dlik tables", f"table {args.table}: {exc}") from None
    except KeyError as exc:  # an input without a column this table reads
        raise missing_column("dlik tables", exc, args.table,
                             list(dict.fromkeys(header))) from None
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0
