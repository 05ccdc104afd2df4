"""dlik attribute [options] experiment=NAME [overrides]: where in t a study's reference
condition's log-density parts from each of its other conditions' (the shared-path
attribution), as attribution.csv beside the study's results.csv for `dlik tables attribution`.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.attribution import check_edges, uniform_edges
from ..scoring.attribution import attribution_rows
from .beside_results import default_out, provenance, study_from_overrides, write_rows
from ..validation.command_args import check_attribute
from ..validation.parser import OneLineParser


def main(argv: list[str]) -> int:
    """CLI: dlik attribute [--reference own] [--bins K | --edges ...] [--transport] OVERRIDES."""
    ap = OneLineParser(prog="dlik attribute", description=__doc__)
    ap.add_argument("--reference", default="own", help="condition_id whose path is shared")
    ap.add_argument("--bins", type=int, default=10, help="uniform t-bins over the solver's "
                    "[t_start, t_end]")
    ap.add_argument("--edges", type=float, nargs="+", help="explicit bin edges in t")
    ap.add_argument("--transport", action="store_true", help="also the transport term (a "
                    "second pass; needs the 'score' capability)")
    ap.add_argument("--out", type=Path, help="default: beside results.csv, attribution.csv")
    args, overrides = ap.parse_known_args(argv)
    check_attribute(args)  # one-line refusals before the study is built
    cfg, adapter, study, settings = study_from_overrides(overrides, ap.prog)
    s = settings.solver
    edges = check_edges(args.edges) if args.edges else uniform_edges(s.t_start, s.t_end,
                                                                      args.bins)
    rows = attribution_rows(adapter, study.jobs(), args.reference, edges, settings,
                            transport=args.transport)
    write_rows(rows, provenance(cfg, adapter, settings),
               args.out or default_out(cfg, overrides, "attribution.csv"))
    return 0
